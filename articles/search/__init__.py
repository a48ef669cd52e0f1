"""Full-text search over articles: one interface, with the backend picked by the database.

Owns the search index (an FTS5 table on SQLite, a weighted tsvector on PostgreSQL) and its
vocabulary, keeps them in step with articles, and turns a reader's words (misspelled ones
corrected) into ranked, highlighted hits. It never decides visibility: every search starts
from ``Article.objects.published()``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from django.contrib.postgres.search import SearchQuery
from django.db import connections, router, transaction
from django.db.models import Count
from django.utils.safestring import SafeString, mark_safe
from rapidfuzz.distance import OSA

from articles import plaintext
from articles.models import Article, SearchDocument, Subject

#: Results on one page of the search page.
RESULTS_PER_PAGE = 20
#: Longer queries are cut here: no reader types more, and it bounds the work per search.
MAX_QUERY_LENGTH = 200
#: Clauses past this many are ignored, for the same reason.
MAX_CLAUSES = 12
#: Article fields the index is built from; saving only other fields skips re-indexing.
INDEXED_FIELDS = frozenset(
    {"question", "title", "article_title", "seo_keywords", "answer", "answer_html"}
)
# What index_articles reads of an article, and what a hit needs to be shown.
_INDEX_FIELDS = ("question", "title", "article_title", "seo_keywords", "answer_html")
_HIT_ARTICLE_COLUMNS = ("id", "subject_id", "slug", "question", "date", "date_format")
_HIT_SUBJECT_COLUMNS = ("id", "title", "slug")

#: The SQLite index: an FTS5 table whose rowid is the article's id (see migration 0004).
FTS_TABLE = "articles_search_fts"
#: The same text indexed as written, without stemming (SQLite, migration 0007): an
#: external-content FTS5 table reading its text from FTS_TABLE, and its fts5vocab table.
WORDS_TABLE = "articles_search_words"
VOCAB_TABLE = "articles_search_vocab"
#: The vocabulary suggestions are drawn from, on both databases (migration 0007): each
#: word as written (lower case, accents removed) and how many articles hold it. A snapshot,
#: refreshed by refresh_vocabulary() after imports and rebuilds.
TERM_TABLE = "articles_search_term"
#: BM25 column weights, in the FTS5 table's column order: question, title, keywords,
#: answer. The question and title say what an article is about; the answer mentions much.
BM25_WEIGHTS = (10.0, 10.0, 4.0, 1.0)
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

#: Ranking: a hit's score (BM25 on SQLite, ts_rank_cd on PostgreSQL) is multiplied by one
#: plus the bonuses it earns, so they weigh the same whatever the query's own scale. The
#: words as a phrase in the question, anywhere, two of them side by side, all of them in
#: the question, all of them as typed (not only their stems), all close together.
#: Measured with bench_search's recall set (README, Benchmarks).
BONUS_PHRASE_IN_QUESTION = 1.0
BONUS_PHRASE = 2.0
BONUS_PAIR = 1.0
BONUS_ALL_IN_QUESTION = 1.5
BONUS_EXACT = 1.0
BONUS_NEAR = 0.3
#: PostgreSQL's bonuses count this many times more: ts_rank_cd sets a match in the question
#: further above one in the answer than BM25 does (a stemmed "chaining rules" in a question
#: outranked "chain rule" in an answer four to one on the corpus).
PG_BONUS_SCALE = 5.0
#: Words at most this many tokens apart are "close together" (FTS5 NEAR; PostgreSQL's cover
#: density ranking rewards closeness by itself).
NEAR_DISTANCE = 8

#: Suggestions: a query finding fewer results than this has its words checked against the
#: vocabulary; a word of SUGGEST_MIN_LENGTH letters or more held by fewer than SUGGEST_RARE
#: articles is replaced by the most common word at most max_edits() edits away (a letter
#: added, dropped, changed or two neighbours swapped) held by SUGGEST_RATIO times as many
#: articles.
SUGGEST_BELOW = 3
SUGGEST_RARE = 3
SUGGEST_RATIO = 10
SUGGEST_MIN_LENGTH = 4
#: Trigram neighbours fetched per unknown word on PostgreSQL (they catch a wrong first
#: letter).
SUGGEST_TRIGRAM_NEIGHBOURS = 20

#: PostgreSQL ranks every match with plain ts_rank, then the best PG_RERANK of them with
#: cover density and the bonuses (which read each vector again): two and a half pages of
#: results. 50 costs half the time of 100 for the same recall (bench_search).
PG_RERANK = 50

#: Words in the snippet of an answer: one passage around the matches, on both backends
#: (a second PostgreSQL fragment costs a third more headline time for little).
SNIPPET_WORDS = 32

# Highlight markers: control characters never present in indexed text (plain_text removes
# them), swapped for <mark> only after everything else has been escaped.
_MARK_START, _MARK_END = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")
# A clause: an optional minus, then a "quoted phrase" (closing quote optional) or a chunk.
_CLAUSE = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_MARKED = re.compile(f"{_MARK_START}(.*?){_MARK_END}", re.S)

#: English function words dropped from queries: they carry no meaning of their own and
#: PostgreSQL's english configuration drops them too, so both backends agree.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves
    """.split()
)


# --- indexed text ----------------------------------------------------------------------


#: Stored answer HTML -> the plain text that is indexed and shown in snippets, formulas as
#: linear text (articles.plaintext).
plain_text = plaintext.plain_text


def _index_row(article):
    """(id, question, title, keywords, answer text) for one article."""
    question = _CONTROL.sub(" ", article.question)
    # The corpus's title and article title equal its question; index them only when an
    # editor made them differ, so they add words, not weight.
    titles = dict.fromkeys(t for t in (article.title, article.article_title) if t)
    titles.pop(article.question, None)
    return (
        article.pk,
        question,
        _CONTROL.sub(" ", " ".join(titles)),
        _CONTROL.sub(" ", article.seo_keywords or ""),
        plain_text(article.answer_html),
    )


# --- queries ---------------------------------------------------------------------------


def words(text):
    """The words of ``text`` as the index splits them: runs of letters and digits (any
    script); everything else separates."""
    return _WORD.findall(text)


def clean_query(raw):
    """A reader's raw ``q`` -> the text searched: control characters removed, whitespace
    collapsed, cut to MAX_QUERY_LENGTH characters. Never raises; ``None`` gives ``""``."""
    text = " ".join(_CONTROL.sub(" ", raw or "").split())
    return text[:MAX_QUERY_LENGTH].strip()


@dataclass(frozen=True)
class Clause:
    """One part of a query: ``words`` that must appear together, in order (one word, a
    "quoted phrase", or a chunk like ``long-term``); ``negated`` when it must not appear;
    ``or_next`` when it is an alternative to the clause after it."""

    words: tuple
    negated: bool = False
    or_next: bool = False


def parse_query(text):
    """Cleaned query text -> a list of Clause, in the spirit of ``websearch_to_tsquery``:
    words are all required, ``"…"`` is a phrase, ``-word`` excludes, ``or`` offers an
    alternative. Every other character (``*``, ``^``, ``:``, parentheses, ``NEAR``…) is
    plain text: punctuation separates words and operator names are words. Stop words
    alone are dropped. Returns ``[]`` when nothing searchable is left (no positive clause).
    """
    clauses = []
    for match in _CLAUSE.finditer(text):
        minus, phrase, chunk_minus, chunk = match.groups()
        negated = bool(minus or chunk_minus)
        if chunk is not None and chunk.lower() == "or" and not negated:
            if clauses and not clauses[-1].negated:
                clauses[-1] = Clause(clauses[-1].words, or_next=True)
            continue
        found = tuple(w.lower() for w in words(phrase if phrase is not None else chunk))
        if not found or (len(found) == 1 and found[0] in STOP_WORDS):
            continue
        clauses.append(Clause(found, negated))
    clauses = clauses[:MAX_CLAUSES]
    if clauses and clauses[-1].or_next:
        clauses[-1] = Clause(clauses[-1].words)
    if not any(not c.negated for c in clauses):
        return []
    return clauses


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


def positive_words(clauses):
    """The words of the clauses that must (or may) match, in order, without repeats."""
    return list(dict.fromkeys(w for c in clauses if not c.negated for w in c.words))


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


def tsquery_pairs(words):
    """Words -> a to_tsquery text matching any two neighbours as typed, side by side:
    ``'chain' <-> 'rule' | …``. Words are letters and digits only (see words())."""
    return " | ".join(f"'{a}' <-> '{b}'" for a, b in zip(words, words[1:], strict=False))


def fold(word):
    """A word as the vocabulary holds it: lower case, accents removed (é -> e, ß stays)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def max_edits(word):
    """Edits a suggestion may be away from ``word``: one for words up to five letters,
    two above (a typo in a short word soon makes another word)."""
    return 1 if len(word) <= 5 else 2


@dataclass(frozen=True)
class Suggestion:
    """A query with its rare words corrected: ``text`` to show and link (the reader's
    words, corrected ones replaced), ``clauses`` to search, ``words`` the
    {typed: corrected} pairs."""

    text: str
    clauses: list
    words: dict


def best_correction(word, documents, candidates):
    """The vocabulary word to offer instead of ``word`` (folded), or None.

    ``documents``: how many articles hold ``word`` itself. ``candidates``: (term,
    documents) pairs from the vocabulary. A word held by SUGGEST_RARE or more articles is
    kept; otherwise the candidate at most max_edits(word) edits away (optimal string
    alignment: a swap of neighbours is one edit) held by the most articles wins, fewer
    edits first, provided it holds SUGGEST_RATIO times as many articles as ``word``."""
    if documents >= SUGGEST_RARE or len(word) < SUGGEST_MIN_LENGTH or word.isdigit():
        return None
    limit = max_edits(word)
    best = None
    for term, count in candidates:
        if term == word or count < max(SUGGEST_RARE, SUGGEST_RATIO * documents):
            continue
        distance = OSA.distance(word, term, score_cutoff=limit)
        if distance > limit:
            continue
        key = (distance, -count, term)
        if best is None or key < best[0]:
            best = (key, term)
    return best[1] if best else None


def suggest(backend, text, clauses):
    """A Suggestion for the query ``text`` (cleaned) parsed as ``clauses``, or None when
    every word is common enough or has no better neighbour. One query (the vocabulary),
    on PostgreSQL two when a word is unknown and has no neighbour of its first letter."""
    words = [
        w
        for w in dict.fromkeys(fold(w) for w in positive_words(clauses))
        if len(w) >= SUGGEST_MIN_LENGTH and not w.isdigit() and w not in STOP_WORDS
    ]
    if not words:
        return None
    found = backend.vocabulary(words)
    corrections, unknown = {}, []
    for word in words:
        documents = next((n for term, n in found.get(word, ()) if term == word), 0)
        better = best_correction(word, documents, found.get(word, ()))
        if better is not None:
            corrections[word] = better
        elif documents == 0:
            unknown.append(word)
    if unknown:
        # A word unknown with no neighbour of its own first letter: its first letter may be
        # the typo (PostgreSQL looks further, by trigrams; one more query).
        for word, candidates in backend.neighbours(unknown).items():
            better = best_correction(word, 0, candidates)
            if better is not None:
                corrections[word] = better
    if not corrections:
        return None
    corrected = [
        Clause(tuple(corrections.get(fold(w), w) for w in c.words), c.negated, c.or_next)
        for c in clauses
    ]
    shown = _WORD.sub(lambda m: corrections.get(fold(m[0]), m[0]), text)
    return Suggestion(shown, corrected, corrections)


def highlighted(text):
    """Text with highlight markers -> safe HTML: everything escaped, matches in <mark>."""
    escaped = html.escape(text or "", quote=False)
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(marked.replace(_MARK_START, "").replace(_MARK_END, ""))


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One result: the article (with its subject loaded), its question and a snippet of
    its answer as safe HTML with the matched words in <mark>, and its relevance score
    (higher is better; comparable only within one search)."""

    article: Article
    question_html: SafeString
    snippet_html: SafeString
    score: float


def _hit_article(alias, values):
    """An Article with its subject from a raw row: _HIT_ARTICLE_COLUMNS, then
    _HIT_SUBJECT_COLUMNS, as the ORM loads them with only() and select_related()."""
    split = len(_HIT_ARTICLE_COLUMNS)
    article = Article.from_db(alias, _HIT_ARTICLE_COLUMNS, values[:split])
    article.subject = Subject.from_db(alias, _HIT_SUBJECT_COLUMNS, values[split:])
    return article


@dataclass(frozen=True)
class SubjectCount:
    """How many results a subject holds for a search, for the subject filter."""

    id: int
    slug: str
    title: str
    count: int


class SearchResults:
    """The lazy result of ``search()``: works with Django's Paginator.

    ``count()`` is the number of hits (in the subject, if a slug was given); slicing gives a
    list of Hit, best first; ``subject_counts`` gives the hits per subject ignoring the
    subject filter. A cross-posted article is one hit, its canonical copy (unless
    ``copies``). Each costs a fixed number of queries whatever the number of hits: one
    more (the vocabulary) when fewer than SUGGEST_BELOW hits are found, and one more
    again when the query is searched corrected.

    ``suggestion``: a Suggestion when a rare word has a common neighbour in the
    vocabulary ("Did you mean …"), else None. ``corrected``: True when the query as typed
    found nothing and the results are the suggestion's.
    """

    def __init__(self, backend, clauses, subject=None, text="", copies=False):
        self.backend = backend
        self.typed_clauses = clauses
        self.subject = subject
        self.text = text
        self.copies = copies

    @cached_property
    def _resolved(self):
        """(clauses searched, subject counts, suggestion, corrected)."""
        clauses = self.typed_clauses
        if not clauses:
            return clauses, [], None, False
        rows = self.backend.subject_counts(clauses, self.copies)
        if sum(row.count for row in rows) >= SUGGEST_BELOW:
            return clauses, rows, None, False
        suggestion = suggest(self.backend, self.text, clauses)
        if suggestion is not None and not rows:
            corrected_rows = self.backend.subject_counts(suggestion.clauses, self.copies)
            if corrected_rows:
                return suggestion.clauses, corrected_rows, suggestion, True
            # The correction finds nothing either: offering it would only waste a click.
            suggestion = None
        return clauses, rows, suggestion, False

    @property
    def clauses(self):
        """The clauses searched: the typed ones, or the suggestion's when corrected."""
        return self._resolved[0] if self.typed_clauses else []

    @property
    def suggestion(self):
        return self._resolved[2]

    @property
    def corrected(self):
        return self._resolved[3]

    @cached_property
    def subject_counts(self):
        """SubjectCount per subject with hits, most hits first."""
        return sorted(self._resolved[1], key=lambda row: (-row.count, row.title))

    def count(self):
        if self.subject is None:
            return sum(row.count for row in self.subject_counts)
        return next((row.count for row in self.subject_counts if row.slug == self.subject), 0)

    def __len__(self):
        return self.count()

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("search results can only be sliced, e.g. results[0:20]")
        start, stop = key.start or 0, key.stop
        if not self.typed_clauses or (stop is not None and stop <= start):
            return []
        return self.backend.hits(self.clauses, self.subject, start, stop, self.copies)


def _visible(subject, copies=False):
    """Published articles (in the subject with slug ``subject``), each cross-posted
    article once, as its canonical copy, unless ``copies`` (a subject's own list)."""
    articles = Article.objects.published()
    if not copies:
        articles = articles.one_per_article()
    return articles if subject is None else articles.filter(subject__slug=subject)


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
        """{word: [(term, documents), …]}: for each folded word, the vocabulary's terms
        with its first letter and a length within max_edits of its own (the word itself
        among them when the vocabulary holds it). One query."""
        selects, params = [], []
        for word in words:
            edits = max_edits(word)
            # Only words a suggestion may be (held by SUGGEST_RARE articles or more) and
            # the word itself: most of the vocabulary is words held by one article.
            selects.append(
                f"SELECT %s, term, documents FROM {TERM_TABLE} WHERE term >= %s AND "
                "term < %s AND length(term) BETWEEN %s AND %s AND (documents >= %s OR term = %s)"
            )
            params += [
                word,
                word[0],
                chr(ord(word[0]) + 1),
                len(word) - edits,
                len(word) + edits,
                SUGGEST_RARE,
                word,
            ]
        found = {}
        for word, term, documents in self._run(" UNION ALL ".join(selects), params):
            found.setdefault(word, []).append((term, documents))
        return found

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


_SQLITE_FORGET_WORDS = (
    f"INSERT INTO {WORDS_TABLE} ({WORDS_TABLE}, rowid, question, title, keywords, answer) "
    f"SELECT 'delete', rowid, question, title, keywords, answer FROM {FTS_TABLE} "
    "WHERE rowid = %s"
)


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
        """{word: [(term, documents), …]}: for each folded word, the vocabulary's terms
        with its first letter and a length within max_edits of its own (the word itself
        among them when the vocabulary holds it). One query."""
        selects, params = [], []
        for word in words:
            edits = max_edits(word)
            # Only words a suggestion may be (held by SUGGEST_RARE articles or more) and
            # the word itself: most of the vocabulary is words held by one article.
            selects.append(
                f"SELECT %s, term, documents FROM {TERM_TABLE} WHERE term >= %s AND "
                "term < %s AND length(term) BETWEEN %s AND %s AND (documents >= %s OR term = %s)"
            )
            params += [
                word,
                word[0],
                chr(ord(word[0]) + 1),
                len(word) - edits,
                len(word) + edits,
                SUGGEST_RARE,
                word,
            ]
        return self._grouped(" UNION ALL ".join(selects), params)

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
        found = {}
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, params)
            for word, term, documents in cursor.fetchall():
                found.setdefault(word, []).append((term, documents))
        return found

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


_BACKENDS = {"sqlite": _SQLiteBackend, "postgresql": _PostgresBackend}


def backend_for(using=None):
    """The index backend of database ``using`` (default: where articles are read).

    Raises NotImplementedError for a database other than SQLite and PostgreSQL."""
    alias = using or router.db_for_read(Article)
    vendor = connections[alias].vendor
    try:
        return _BACKENDS[vendor](alias)
    except KeyError:
        raise NotImplementedError(f"no search backend for the {vendor} database") from None


# --- the index's upkeep ------------------------------------------------------------------

#: SQLite's trigger that drops an article's entry with its row (made by migration 0004).
#: SQLite rebuilds a table for many schema changes (adding a column with a default, say),
#: and the rebuild drops the table's triggers: ensure_triggers() puts it back after every
#: migrate. PostgreSQL alters tables in place and keeps its triggers.
SQLITE_DELETE_TRIGGER = f"""
    CREATE TRIGGER IF NOT EXISTS articles_search_fts_forget AFTER DELETE ON articles_article
    BEGIN
        INSERT INTO {WORDS_TABLE} ({WORDS_TABLE}, rowid, question, title, keywords, answer)
        SELECT 'delete', rowid, question, title, keywords, answer FROM {FTS_TABLE}
        WHERE rowid = old.id;
        DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
    END
"""
# Before migration 0007 made the words' table, the trigger forgot the main entry only.
_SQLITE_DELETE_TRIGGER_0004 = f"""
    CREATE TRIGGER IF NOT EXISTS articles_search_fts_forget AFTER DELETE ON articles_article
    BEGIN
        DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
    END
"""


def ensure_triggers(using):
    """Make sure the database ``using`` drops index entries with their articles (see
    SQLITE_DELETE_TRIGGER). Idempotent; does nothing before the index exists."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE name IN (%s, %s)", [FTS_TABLE, WORDS_TABLE]
        )
        tables = {name for (name,) in cursor.fetchall()}
        if WORDS_TABLE in tables:
            cursor.execute(SQLITE_DELETE_TRIGGER)
        elif FTS_TABLE in tables:
            cursor.execute(_SQLITE_DELETE_TRIGGER_0004)


# --- public interface --------------------------------------------------------------------


def search(raw_query, subject=None, using=None, copies=False):
    """Search published articles.

    ``raw_query``: what the reader typed (any string; see clean_query and parse_query for
    what is made of it). ``subject``: the slug of a subject to search within, or None for
    all (an unknown slug finds nothing). ``copies``: keep cross-posted copies (a subject
    page's own list holds its copies); by default each article is one hit, its canonical
    copy, counted in that copy's subject.
    Returns SearchResults (lazy: no query runs until it is counted or sliced); it is empty
    when the query holds nothing searchable. A query that finds nothing is searched again
    with its rare words corrected from the vocabulary (SearchResults.corrected). Never
    raises for any query text.
    """
    text = clean_query(raw_query)
    return SearchResults(backend_for(using), parse_query(text), subject, text, copies)


def ranked_ids(raw_query, articles, limit, using=None):
    """Ids of the ``limit`` articles of the queryset ``articles`` (drafts included, if it
    holds them; cross-posted copies each count) that best match ``raw_query`` in their
    question, titles, keywords or answer, best first, ranked as search() ranks. One
    query; no "Did you mean". An empty list when the query holds nothing searchable."""
    clauses = parse_query(clean_query(raw_query))
    if not clauses:
        return []
    return backend_for(using).ranked_ids(clauses, articles, limit)


def refresh_vocabulary(using=None):
    """Refill the vocabulary "Did you mean" draws from with the index's words and their
    article counts. One pass over the index (on the whole corpus half a second on SQLite,
    seven on PostgreSQL, its statistics refreshed too); run after imports and rebuilds.
    Edits in between reach it at the next refresh. One transaction: searches meanwhile
    see the whole old vocabulary, never an empty one."""
    alias = using or router.db_for_write(Article)
    with transaction.atomic(using=alias):
        backend_for(alias).refresh_vocabulary()


def index_articles(articles, using=None):
    """Write (insert or replace) the index entries of ``articles``: Article instances with
    at least pk, question, title, article_title, seo_keywords and answer_html loaded.
    Drafts are indexed too: visibility is decided when searching, so publishing needs no
    re-indexing. Call it inside the transaction that wrote the articles."""
    rows = [_index_row(article) for article in articles]
    if rows:
        backend_for(using or router.db_for_write(Article)).index(rows)
    return len(rows)


def reindex(article_ids, using=None):
    """Re-read the articles with these ids and write their index entries; ids of missing
    articles are removed from the index. Returns the number indexed."""
    ids = set(article_ids)
    alias = using or router.db_for_write(Article)
    articles = list(Article.objects.using(alias).filter(pk__in=ids).only(*_INDEX_FIELDS))
    remove(ids - {a.pk for a in articles}, using=alias)
    return index_articles(articles, using=alias)


def remove(article_ids, using=None):
    """Drop these articles' index entries. The database does this by itself when an
    article row is deleted (a trigger, see migration 0004); this is for other repairs."""
    ids = list(article_ids)
    if ids:
        backend_for(using or router.db_for_write(Article)).remove(ids)


def rebuild(batch_size=1000, using=None, progress=None):
    """Empty the index and index every article again, ``batch_size`` at a time.

    ``progress``: optional callable taking a count of articles done. Returns the number
    of articles indexed. Run it inside a transaction so readers never see it half-built.
    """
    alias = using or router.db_for_write(Article)
    backend = backend_for(alias)
    backend.clear()
    total = 0
    batch = []
    for article in (
        Article.objects.using(alias).only(*_INDEX_FIELDS).order_by("pk").iterator(batch_size)
    ):
        batch.append(article)
        if len(batch) >= batch_size:
            total += index_articles(batch, using=alias)
            if progress is not None:
                progress(len(batch))
            batch = []
    total += index_articles(batch, using=alias)
    if progress is not None and batch:
        progress(len(batch))
    backend.optimise()
    backend.refresh_vocabulary()
    return total
