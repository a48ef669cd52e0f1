"""The SQLite backend: two FTS5 tables (stemmed, and words as written) ranked by BM25 and
the bonuses, clauses written as FTS5 MATCH expressions of quoted strings only. Runs the
SQL the interface asks for; it never decides visibility (results._visible does).
"""

from __future__ import annotations

from django.db import connections

from articles.models import Article, Subject
from articles.search.query import positive_words
from articles.search.results import (
    _HIT_ARTICLE_COLUMNS,
    _HIT_SUBJECT_COLUMNS,
    _MARK_END,
    _MARK_START,
    BONUS_ALL_IN_QUESTION,
    BONUS_EXACT,
    BONUS_NEAR,
    BONUS_PAIR,
    BONUS_PHRASE,
    BONUS_PHRASE_IN_QUESTION,
    SNIPPET_WORDS,
    Hit,
    SubjectCount,
    _hit_article,
    _visible,
    highlighted,
)
from articles.search.spelling import TERM_TABLE, grouped_by_word, vocabulary_query

#: The SQLite index: an FTS5 table whose rowid is the article's id (see migration 0004).
FTS_TABLE = "articles_search_fts"
#: The same text indexed as written, without stemming (SQLite, migration 0007): an
#: external-content FTS5 table reading its text from FTS_TABLE, and its fts5vocab table.
WORDS_TABLE = "articles_search_words"
VOCAB_TABLE = "articles_search_vocab"
#: BM25 column weights, in the FTS5 table's column order: question, title, keywords,
#: answer. The question and title say what an article is about; the answer mentions much.
BM25_WEIGHTS = (10.0, 10.0, 4.0, 1.0)
#: Words at most this many tokens apart are "close together" (FTS5 NEAR; PostgreSQL's cover
#: density ranking rewards closeness by itself).
NEAR_DISTANCE = 8

_SQLITE_FORGET_WORDS = (
    f"INSERT INTO {WORDS_TABLE} ({WORDS_TABLE}, rowid, question, title, keywords, answer) "
    f"SELECT 'delete', rowid, question, title, keywords, answer FROM {FTS_TABLE} "
    "WHERE rowid = %s"
)


def fts5_expression(clauses):
    """Clauses -> an FTS5 MATCH expression built only from double-quoted strings, so no
    reader input is ever read as FTS5 syntax (``NEAR``, ``*``, ``^``, column filters)."""

    def quoted(clause):
        return '"' + " ".join(clause.words).replace('"', '""') + '"'

    groups, current = [], []
    for clause in clauses:
        if clause.negated:
            continue
        current.append(quoted(clause))
        if not clause.or_next:
            groups.append(current[0] if len(current) == 1 else "(" + " OR ".join(current) + ")")
            current = []
    expression = " AND ".join(groups)
    negated = [quoted(c) for c in clauses if c.negated]
    if negated:
        expression = f"({expression}) NOT ({' OR '.join(negated)})"
    return expression


def _fts5_phrase(words):
    return '"' + " ".join(words).replace('"', '""') + '"'


def fts5_bonuses(clauses):
    """Clauses -> [(weight, table, FTS5 MATCH expression)] of the ranking bonuses (see
    BONUS_PHRASE and the rest); built like fts5_expression, quoted strings only. Phrases
    are matched in WORDS_TABLE, words as typed ("chaining rules" is not "chain rule");
    the rest in FTS_TABLE, stemmed. A single word earns only the question and as-typed
    bonuses."""
    positive = [c for c in clauses if not c.negated]
    every = positive_words(clauses)
    if not every:
        return []
    in_question = "{question title} : "
    bonuses = [
        (BONUS_ALL_IN_QUESTION, FTS_TABLE, f"{in_question}({fts5_expression(positive)})"),
        (BONUS_EXACT, WORDS_TABLE, fts5_expression(positive)),
    ]
    if len(every) > 1:
        phrase = _fts5_phrase(every)
        pairs = " OR ".join(_fts5_phrase(pair) for pair in zip(every, every[1:], strict=False))
        near = " ".join(_fts5_phrase(c.words) for c in positive)
        bonuses += [
            (BONUS_PHRASE_IN_QUESTION, WORDS_TABLE, in_question + phrase),
            (BONUS_PHRASE, WORDS_TABLE, phrase),
            (BONUS_PAIR, WORDS_TABLE, pairs),
            (BONUS_NEAR, FTS_TABLE, f"NEAR({near}, {NEAR_DISTANCE})"),
        ]
    return bonuses


class _SQLiteBackend:
    """FTS5 with BM25: the table stores the indexed text, so snippets come from it. A
    second FTS5 table indexes the same text without stemming, for the vocabulary."""

    def __init__(self, alias):
        self.alias = alias

    def _visible_sql(self, subject, copies, *fields):
        """SQL and params of the published articles (in ``subject``) as a derived table."""
        visible = _visible(subject, copies).using(self.alias).values(*fields).order_by()
        return visible.query.sql_with_params()

    def _run(self, sql, params):
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    # The FTS5 table must drive these joins (CROSS JOIN fixes SQLite's join order):
    # given ``rowid IN (published ids)`` SQLite would instead run the MATCH once per
    # published article, which takes seconds.

    def subject_counts(self, clauses, copies=False):
        visible_sql, visible_params = self._visible_sql(
            None, copies, "pk", "subject_id", "subject__slug", "subject__title"
        )
        rows = self._run(
            f"SELECT v.subject_id, v.subject__slug, v.subject__title, COUNT(*) "
            f"FROM {FTS_TABLE} CROSS JOIN ({visible_sql}) AS v ON v.pk = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s GROUP BY v.subject_id",
            [*visible_params, fts5_expression(clauses)],
        )
        return [SubjectCount(*row) for row in rows]

    def _ranked(self, clauses, visible, start, stop):
        """[(article id, score)], best (lowest) first, of the articles in the queryset
        ``visible`` that match, from ``start`` to ``stop``. One query."""
        visible_sql, visible_params = visible.values("pk").order_by().query.sql_with_params()
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        # Each bonus is one more MATCH, run once (SQLite keeps a non-correlated IN list).
        bonuses = fts5_bonuses(clauses)
        boost = " + ".join(
            f"{weight} * ({FTS_TABLE}.rowid IN (SELECT rowid FROM {table} WHERE {table} MATCH %s))"
            for weight, table, _ in bonuses
        )
        return self._run(
            f"SELECT {FTS_TABLE}.rowid, bm25({FTS_TABLE}, {weights}) * (1.0 + {boost or 0}) "
            f"AS score "
            f"FROM {FTS_TABLE} CROSS JOIN ({visible_sql}) AS v ON v.pk = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s ORDER BY score, {FTS_TABLE}.rowid LIMIT %s OFFSET %s",
            [
                *[expression for _, _, expression in bonuses],
                *visible_params,
                fts5_expression(clauses),
                -1 if stop is None else stop - start,
                start,
            ],
        )

    def ranked_ids(self, clauses, articles, limit):
        return [pk for pk, _ in self._ranked(clauses, articles.using(self.alias), 0, limit)]

    def hits(self, clauses, subject, start, stop, copies=False):
        match = fts5_expression(clauses)
        ranked = self._ranked(clauses, _visible(subject, copies).using(self.alias), start, stop)
        if not ranked:
            return []
        # Highlights only for the page's rows: computing them for every match before the
        # sort would cost more than the ranking. ``+rowid`` keeps the MATCH run once. The
        # page's articles and subjects come in the same query.
        ids = [pk for pk, _ in ranked]
        columns = ", ".join(
            [f"a.{c}" for c in _HIT_ARTICLE_COLUMNS] + [f"s.{c}" for c in _HIT_SUBJECT_COLUMNS]
        )
        marked = {
            row[0]: row
            for row in self._run(
                f"SELECT {FTS_TABLE}.rowid, highlight({FTS_TABLE}, 0, %s, %s), "
                f"snippet({FTS_TABLE}, 3, %s, %s, '…', {SNIPPET_WORDS}), {columns} "
                f"FROM {FTS_TABLE} CROSS JOIN {Article._meta.db_table} AS a "
                f"ON a.id = {FTS_TABLE}.rowid JOIN {Subject._meta.db_table} AS s "
                f"ON s.id = a.subject_id WHERE {FTS_TABLE} MATCH %s "
                f"AND +{FTS_TABLE}.rowid IN ({', '.join(['%s'] * len(ids))})",
                [_MARK_START, _MARK_END, _MARK_START, _MARK_END, match, *ids],
            )
        }
        return [
            Hit(
                _hit_article(self.alias, marked[pk][3:]),
                highlighted(marked[pk][1]),
                highlighted(marked[pk][2]),
                -score,
            )
            for pk, score in ranked
            if pk in marked
        ]

    def vocabulary(self, words):
        """See spelling.vocabulary_query. One query."""
        return grouped_by_word(self._run(*vocabulary_query(words)))

    def neighbours(self, words):
        """{word: [(term, documents), …]} beyond the first letter: none on SQLite."""
        return {}

    def refresh_vocabulary(self):
        # fts5vocab counts the articles holding each word; one pass over the index.
        with connections[self.alias].cursor() as cursor:
            cursor.execute(f"DELETE FROM {TERM_TABLE}")
            cursor.execute(
                f"INSERT INTO {TERM_TABLE} (term, documents) SELECT term, doc FROM {VOCAB_TABLE}"
            )

    def index(self, rows):
        ids = [(row[0],) for row in rows]
        with connections[self.alias].cursor() as cursor:
            # An external-content table forgets a row given the text it indexed: drop the
            # words' entries while FTS_TABLE still holds that text.
            cursor.executemany(_SQLITE_FORGET_WORDS, ids)
            cursor.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", ids)
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, question, title, keywords, answer) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
            cursor.executemany(
                f"INSERT INTO {WORDS_TABLE} (rowid, question, title, keywords, answer) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )

    def remove(self, ids):
        with connections[self.alias].cursor() as cursor:
            cursor.executemany(_SQLITE_FORGET_WORDS, [(i,) for i in ids])
            cursor.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [(i,) for i in ids])

    def clear(self):
        with connections[self.alias].cursor() as cursor:
            cursor.execute(f"INSERT INTO {WORDS_TABLE} ({WORDS_TABLE}) VALUES ('delete-all')")
            cursor.execute(f"DELETE FROM {FTS_TABLE}")

    def optimise(self):
        # Merge the indexes' segments into one: fewer b-trees to read per query.
        with connections[self.alias].cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")
            cursor.execute(f"INSERT INTO {WORDS_TABLE} ({WORDS_TABLE}) VALUES ('optimize')")
