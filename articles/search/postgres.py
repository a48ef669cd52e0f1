"""The PostgreSQL backend: a stored, weighted tsvector with a GIN index, ranked with
ts_rank then ts_rank_cd and the bonuses, clauses written for websearch_to_tsquery. Runs the
SQL the interface asks for; it never decides visibility (results._visible does).
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import Count

from articles.models import Article, SearchDocument, Subject
from articles.search.query import positive_words
from articles.search.results import (
    _HIT_ARTICLE_COLUMNS,
    _HIT_SUBJECT_COLUMNS,
    _MARK_END,
    _MARK_START,
    BONUS_ALL_IN_QUESTION,
    BONUS_EXACT,
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

#: PostgreSQL's text search configuration: english with accents removed (unaccent); the
#: stored vector (migration 0007) uses it too.
PG_CONFIG = "learn_english"
#: The same without stemming, for the vocabulary.
PG_WORDS_CONFIG = "learn_simple"
#: ts_rank weights for D, C, B, A: the vector puts the question and title in A, keywords in
#: B and the answer in C, so the order of importance matches BM25_WEIGHTS.
PG_RANK_WEIGHTS = [0.05, 0.1, 0.4, 1.0]
#: The GIN index over the stored vector (migration 0004).
PG_GIN_INDEX = "articles_search_document_gin"
#: PostgreSQL's bonuses count this many times more: ts_rank_cd sets a match in the question
#: further above one in the answer than BM25 does (a stemmed "chaining rules" in a question
#: outranked "chain rule" in an answer four to one on the corpus).
PG_BONUS_SCALE = 5.0
#: Trigram neighbours fetched per unknown word on PostgreSQL (they catch a wrong first
#: letter).
SUGGEST_TRIGRAM_NEIGHBOURS = 20

#: PostgreSQL ranks every match with plain ts_rank, then the best PG_RERANK of them with
#: cover density and the bonuses (which read each vector again): two and a half pages of
#: results. 50 costs half the time of 100 for the same recall (bench_search).
PG_RERANK = 50


def websearch_text(clauses):
    """Clauses -> text for PostgreSQL's ``websearch_to_tsquery`` with the same meaning."""
    parts = []
    for clause in clauses:
        text = " ".join(clause.words)
        text = f'"{text}"' if len(clause.words) > 1 else text
        parts.append(("-" if clause.negated else "") + text)
        if clause.or_next:
            parts.append("or")
    return " ".join(parts)


def tsquery_pairs(words):
    """Words -> a to_tsquery text matching any two neighbours as typed, side by side:
    ``'chain' <-> 'rule' | …``. Words are letters and digits only (see words())."""
    return " | ".join(f"'{a}' <-> '{b}'" for a, b in zip(words, words[1:], strict=False))


class _PostgresBackend:
    """A stored, weighted tsvector with a GIN index, ranked with ts_rank_cd (cover density:
    words close together rank higher)."""

    def __init__(self, alias):
        self.alias = alias

    def _query(self, clauses):
        return SearchQuery(websearch_text(clauses), search_type="websearch", config=PG_CONFIG)

    def _matching(self, subject, clauses, copies=False):
        return (
            _visible(subject, copies)
            .using(self.alias)
            .filter(search_document__document=self._query(clauses))
        )

    def subject_counts(self, clauses, copies=False):
        rows = (
            self._matching(None, clauses, copies)
            .values_list("subject_id", "subject__slug", "subject__title")
            .annotate(count=Count("pk"))
            .order_by()
        )
        return [SubjectCount(*row) for row in rows]

    def _visible_sql(self, subject, copies, *fields):
        visible = _visible(subject, copies).using(self.alias).values(*fields).order_by()
        return visible.query.sql_with_params()

    def ranked_ids(self, clauses, articles, limit):
        """Ids of the ``limit`` best matches among the queryset ``articles``, best first:
        plain ts_rank picks them, then all of them are ranked as hits() ranks its first
        PG_RERANK. One query."""
        visible_sql, visible_params = (
            articles.using(self.alias).values("pk", "date").order_by().query.sql_with_params()
        )
        sql, params = self._ranking(clauses, visible_sql, visible_params, 0, limit, limit)
        with connections[self.alias].cursor() as cursor:
            cursor.execute(
                f"{sql} SELECT article_id FROM ranked "
                "ORDER BY part, score DESC, date DESC, article_id",
                params,
            )
            return [pk for (pk,) in cursor.fetchall()]

    def hits(self, clauses, subject, start, stop, copies=False):
        """One query, in raw SQL (the ORM spent longer building this than PostgreSQL
        running it), the page's articles and subjects included. Plain ts_rank over every
        match picks the PG_RERANK best; only those get the cover density rank (words close
        together) times one plus the bonuses (see BONUS_PHRASE), which read each vector
        again; ranks past PG_RERANK keep the first pass's order. Headlines only for the
        page's rows."""
        visible_sql, visible_params = self._visible_sql(subject, copies, "pk", "date")
        ranking, ranking_params = self._ranking(
            clauses, visible_sql, visible_params, start, stop, PG_RERANK
        )
        table = SearchDocument._meta.db_table
        sql = (
            ranking + " SELECT r.score, ts_headline(%s::regconfig, d.question, q.positive, %s), "
            "ts_headline(%s::regconfig, d.answer, q.positive, %s), "
            + ", ".join(f"a.{column}" for column in _HIT_ARTICLE_COLUMNS)
            + ", "
            + ", ".join(f"s.{column}" for column in _HIT_SUBJECT_COLUMNS)
            + f" FROM ranked AS r JOIN {table} AS d ON d.article_id = r.article_id CROSS JOIN q "
            f"JOIN {Article._meta.db_table} AS a ON a.id = r.article_id "
            f"JOIN {Subject._meta.db_table} AS s ON s.id = a.subject_id "
            "ORDER BY r.part, r.score DESC, r.date DESC, r.article_id"
        )
        params = [
            *ranking_params,
            PG_CONFIG,
            f"StartSel={_MARK_START}, StopSel={_MARK_END}, HighlightAll=true",
            PG_CONFIG,
            f"StartSel={_MARK_START}, StopSel={_MARK_END}, "
            f"MaxWords={SNIPPET_WORDS}, MinWords={SNIPPET_WORDS // 2}",
        ]
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [
            Hit(_hit_article(self.alias, row[3:]), highlighted(row[1]), highlighted(row[2]), row[0])
            for row in rows
        ]

    def _ranking(self, clauses, visible_sql, visible_params, start, stop, rerank):
        """The CTEs ``q`` (the queries), ``first`` and ``ranked`` (article_id, score, date:
        the matches among ``visible_sql``, a derived table of pk and date, from ``start``
        to ``stop``, in the order of ``part`` then ``score``), and their params. The
        ``rerank`` best by plain ts_rank are ranked again by cover density and bonuses;
        past them the ts_rank order stands."""
        every = positive_words(clauses)
        table = SearchDocument._meta.db_table
        weights = "'{" + ",".join(str(w) for w in PG_RANK_WEIGHTS) + "}'::float4[]"
        question_part = "ts_filter(d.{}, '{{a}}'::\"char\"[])"
        bonus = [
            f"CASE WHEN {question_part.format('document')} @@ q.positive THEN %s ELSE 0 END",
            "CASE WHEN d.words @@ q.exact THEN %s ELSE 0 END",
        ]
        bonus_params = [BONUS_ALL_IN_QUESTION, BONUS_EXACT]
        if len(every) > 1:
            bonus += [
                f"CASE WHEN {question_part.format('words')} @@ q.phrase THEN %s ELSE 0 END",
                "CASE WHEN d.words @@ q.phrase THEN %s ELSE 0 END",
                "CASE WHEN d.words @@ q.pairs THEN %s ELSE 0 END",
            ]
            bonus_params += [BONUS_PHRASE_IN_QUESTION, BONUS_PHRASE, BONUS_PAIR]
        bonus_params = [PG_BONUS_SCALE * weight for weight in bonus_params]
        if start < rerank:
            # The ``rerank`` best again by cover density and bonuses (part 0), then, for a
            # slice reaching past them, the next ones in ts_rank order (part 1).
            score = f"ts_rank_cd({weights}, d.document, q.positive) * (1 + {' + '.join(bonus)})"
            ranked = (
                f"(SELECT f.article_id, {score} AS score, f.date, 0 AS part FROM "
                "(SELECT * FROM first ORDER BY rank DESC, date DESC, article_id LIMIT %s) AS f "
                f"JOIN {table} AS d ON d.article_id = f.article_id CROSS JOIN q) UNION ALL "
                "(SELECT article_id, rank, date, 1 FROM first "
                "ORDER BY rank DESC, date DESC, article_id OFFSET %s) "
                "ORDER BY part, score DESC, date DESC, article_id LIMIT NULLIF(%s, -1) OFFSET %s"
            )
            ranked_params = [
                *bonus_params,
                rerank,
                rerank,
                -1 if stop is None else stop - start,
                start,
            ]
            first_limit = [-1 if stop is None else max(stop, rerank), 0]
        else:
            ranked = (
                "SELECT article_id, rank AS score, date, 1 AS part FROM first "
                "ORDER BY score DESC, date DESC, article_id"
            )
            ranked_params = []
            first_limit = [-1 if stop is None else stop - start, start]
        sql = (
            "WITH q AS (SELECT websearch_to_tsquery(%s::regconfig, %s) AS matching, "
            "websearch_to_tsquery(%s::regconfig, %s) AS positive, "
            "websearch_to_tsquery(%s::regconfig, %s) AS exact, "
            "phraseto_tsquery(%s::regconfig, %s) AS phrase, "
            "to_tsquery(%s::regconfig, %s) AS pairs), "
            f"first AS (SELECT d.article_id, ts_rank({weights}, d.document, q.positive) AS rank, "
            f"v.date FROM {table} AS d CROSS JOIN q JOIN ({visible_sql}) AS v "
            "ON v.pk = d.article_id WHERE d.document @@ q.matching "
            "ORDER BY rank DESC, v.date DESC, d.article_id LIMIT NULLIF(%s, -1) OFFSET %s) "
            f", ranked AS ({ranked})"
        )
        # ts_rank scores a query holding a negation near zero whatever else matches, and
        # excluded words never appear in a hit: rank and highlight without them.
        positive = [c for c in clauses if not c.negated]
        params = [
            PG_CONFIG,
            websearch_text(clauses),
            PG_CONFIG,
            websearch_text(positive),
            PG_WORDS_CONFIG,
            websearch_text(positive),
            PG_WORDS_CONFIG,
            " ".join(every),
            PG_WORDS_CONFIG,
            tsquery_pairs(every) or " ".join(every),
            *visible_params,
            *first_limit,
            *ranked_params,
        ]
        return sql, params

    def vocabulary(self, words):
        """See spelling.vocabulary_query. One query."""
        return self._grouped(*vocabulary_query(words))

    def neighbours(self, words):
        """{word: [(term, documents), …]}: the vocabulary's terms sharing enough trigrams
        with each word (pg_trgm's ``%``, GIN-indexed), whatever their first letter. One
        query."""
        selects, params = [], []
        for word in words:
            selects.append(
                f"(SELECT %s, term, documents FROM {TERM_TABLE} WHERE term %% %s "
                "ORDER BY similarity(term, %s) DESC LIMIT %s)"
            )
            params += [word, word, word, SUGGEST_TRIGRAM_NEIGHBOURS]
        return self._grouped(" UNION ALL ".join(selects), params)

    def _grouped(self, sql, params):
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, params)
            return grouped_by_word(cursor.fetchall())

    def refresh_vocabulary(self):
        # ts_stat counts the articles holding each word (as written, accents removed).
        with connections[self.alias].cursor() as cursor:
            # Two refreshes at once (two imports ending together) would each delete the
            # rows they see and then both insert every word: this lock mode conflicts with
            # itself and with writers, not with the searches reading the table.
            cursor.execute(f"LOCK TABLE {TERM_TABLE} IN SHARE ROW EXCLUSIVE MODE")
            # DELETE, not TRUNCATE: searches meanwhile keep reading the old vocabulary
            # instead of waiting for the lock.
            cursor.execute(f"DELETE FROM {TERM_TABLE}")
            cursor.execute(
                f"INSERT INTO {TERM_TABLE} (term, documents) SELECT word, ndoc FROM ts_stat("
                f"'SELECT words FROM {SearchDocument._meta.db_table}')"
            )
            # An import rewrites the articles wholesale: with the statistics of before it,
            # the planner checks every article's vector instead of using the GIN index
            # (measured on the corpus: half a second a search instead of 20 ms).
            cursor.execute(
                f"ANALYZE {TERM_TABLE}, articles_article, {SearchDocument._meta.db_table}"
            )

    def index(self, rows):
        with connections[self.alias].cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {SearchDocument._meta.db_table} "
                "(article_id, question, title, keywords, answer) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (article_id) DO UPDATE SET question = EXCLUDED.question, "
                "title = EXCLUDED.title, keywords = EXCLUDED.keywords, answer = EXCLUDED.answer",
                rows,
            )

    def remove(self, ids):
        with connections[self.alias].cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {SearchDocument._meta.db_table} WHERE article_id = ANY(%s)",
                [list(ids)],
            )

    def clear(self):
        with connections[self.alias].cursor() as cursor:
            cursor.execute(f"TRUNCATE {SearchDocument._meta.db_table}")

    def optimise(self):
        # Move the GIN index's pending entries into the index proper (a search scans the
        # pending list linearly), and refresh the planner's statistics.
        with connections[self.alias].cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [PG_GIN_INDEX])
            cursor.execute(f"ANALYZE {SearchDocument._meta.db_table}")
