"""Full-text search over articles: one interface, with the backend picked by the database.

Owns the search index (an FTS5 table on SQLite, a weighted tsvector on PostgreSQL), keeps
it in step with articles, and turns a reader's words into ranked, highlighted hits. It
never decides visibility: every search starts from ``Article.objects.published()``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cached_property

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connections, router
from django.db.models import Count, F
from django.utils.safestring import SafeString, mark_safe

from articles.models import Article, SearchDocument

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
_HIT_FIELDS = ("slug", "question", "date", "date_format", "subject__slug", "subject__title")

#: The SQLite index: an FTS5 table whose rowid is the article's id (see migration 0004).
FTS_TABLE = "articles_search_fts"
#: BM25 column weights, in the FTS5 table's column order: question, title, keywords,
#: answer. The question and title say what an article is about; the answer mentions much.
BM25_WEIGHTS = (10.0, 10.0, 4.0, 1.0)
#: PostgreSQL's text search configuration; the stored vector (migration 0004) uses it too.
PG_CONFIG = "english"
#: ts_rank weights for D, C, B, A: the vector puts the question and title in A, keywords in
#: B and the answer in C, so the order of importance matches BM25_WEIGHTS.
PG_RANK_WEIGHTS = [0.05, 0.1, 0.4, 1.0]
#: The GIN index over the stored vector (migration 0004).
PG_GIN_INDEX = "articles_search_document_gin"

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
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|code|em|i|kbd|mark|s|small|span|strong|sub|sup|u)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]*>")
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


def plain_text(answer_html):
    """Stored answer HTML -> the plain text that is indexed and shown in snippets.

    Inline tags (emphasis, links, code spans, Pygments' token spans) vanish without a
    trace so words stay whole; block and MathML tags become spaces so neighbouring cells,
    items and math tokens do not run together. Entities are decoded, control characters
    removed and whitespace collapsed. ``answer_html`` is the sanitised output of
    articles.rendering, so a tag never holds a raw ``>``.
    """
    text = _TAG.sub(" ", _INLINE_TAG.sub("", answer_html or ""))
    return " ".join(_CONTROL.sub(" ", html.unescape(text)).split())


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
    subject filter. Each costs a fixed number of queries whatever the number of hits.
    """

    def __init__(self, backend, clauses, subject=None):
        self.backend = backend
        self.clauses = clauses
        self.subject = subject

    @cached_property
    def subject_counts(self):
        """SubjectCount per subject with hits, most hits first. One query."""
        if not self.clauses:
            return []
        rows = self.backend.subject_counts(self.clauses)
        return sorted(rows, key=lambda row: (-row.count, row.title))

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
        if not self.clauses or (stop is not None and stop <= start):
            return []
        return self.backend.hits(self.clauses, self.subject, start, stop)


def _visible(subject):
    articles = Article.objects.published()
    return articles if subject is None else articles.filter(subject__slug=subject)


class _SQLiteBackend:
    """FTS5 with BM25: the table stores the indexed text, so snippets come from it."""

    def __init__(self, alias):
        self.alias = alias

    def _visible_sql(self, subject, *fields):
        """SQL and params of the published articles (in ``subject``) as a derived table."""
        visible = _visible(subject).using(self.alias).values(*fields).order_by()
        return visible.query.sql_with_params()

    def _run(self, sql, params):
        with connections[self.alias].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    # The FTS5 table must drive these joins (CROSS JOIN fixes SQLite's join order):
    # given ``rowid IN (published ids)`` SQLite would instead run the MATCH once per
    # published article, which takes seconds.

    def subject_counts(self, clauses):
        visible_sql, visible_params = self._visible_sql(
            None, "pk", "subject_id", "subject__slug", "subject__title"
        )
        rows = self._run(
            f"SELECT v.subject_id, v.subject__slug, v.subject__title, COUNT(*) "
            f"FROM {FTS_TABLE} CROSS JOIN ({visible_sql}) AS v ON v.pk = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s GROUP BY v.subject_id",
            [*visible_params, fts5_expression(clauses)],
        )
        return [SubjectCount(*row) for row in rows]

    def hits(self, clauses, subject, start, stop):
        match = fts5_expression(clauses)
        visible_sql, visible_params = self._visible_sql(subject, "pk")
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        ranked = self._run(
            f"SELECT {FTS_TABLE}.rowid, bm25({FTS_TABLE}, {weights}) AS score "
            f"FROM {FTS_TABLE} CROSS JOIN ({visible_sql}) AS v ON v.pk = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s ORDER BY score, {FTS_TABLE}.rowid LIMIT %s OFFSET %s",
            [*visible_params, match, -1 if stop is None else stop - start, start],
        )
        if not ranked:
            return []
        # Highlights only for the page's rows: computing them for every match before the
        # sort would cost more than the ranking. ``+rowid`` keeps the MATCH run once.
        ids = [pk for pk, _ in ranked]
        marked = {
            pk: (question, snippet)
            for pk, question, snippet in self._run(
                f"SELECT rowid, highlight({FTS_TABLE}, 0, %s, %s), "
                f"snippet({FTS_TABLE}, 3, %s, %s, '…', {SNIPPET_WORDS}) FROM {FTS_TABLE} "
                f"WHERE {FTS_TABLE} MATCH %s AND +rowid IN ({', '.join(['%s'] * len(ids))})",
                [_MARK_START, _MARK_END, _MARK_START, _MARK_END, match, *ids],
            )
        }
        articles = (
            Article.objects.using(self.alias)
            .select_related("subject")
            .only(*_HIT_FIELDS)
            .in_bulk(ids)
        )
        return [
            Hit(articles[pk], highlighted(marked[pk][0]), highlighted(marked[pk][1]), -score)
            for pk, score in ranked
            if pk in articles and pk in marked
        ]

    def index(self, rows):
        with connections[self.alias].cursor() as cursor:
            cursor.executemany(
                f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [(row[0],) for row in rows]
            )
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, question, title, keywords, answer) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )

    def remove(self, ids):
        with connections[self.alias].cursor() as cursor:
            cursor.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [(i,) for i in ids])

    def clear(self):
        with connections[self.alias].cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")

    def optimise(self):
        # Merge the index's segments into one: fewer b-trees to read per query.
        with connections[self.alias].cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}) VALUES ('optimize')")


class _PostgresBackend:
    """A stored, weighted tsvector with a GIN index, ranked with ts_rank."""

    def __init__(self, alias):
        self.alias = alias

    def _query(self, clauses):
        return SearchQuery(websearch_text(clauses), search_type="websearch", config=PG_CONFIG)

    def _positive_query(self, clauses):
        # ts_rank scores a query holding a negation near zero whatever else matches, and
        # excluded words never appear in a hit: rank and highlight without them.
        return self._query([c for c in clauses if not c.negated])

    def _matching(self, subject, clauses):
        return (
            _visible(subject)
            .using(self.alias)
            .filter(search_document__document=self._query(clauses))
        )

    def subject_counts(self, clauses):
        rows = (
            self._matching(None, clauses)
            .values_list("subject_id", "subject__slug", "subject__title")
            .annotate(count=Count("pk"))
            .order_by()
        )
        return [SubjectCount(*row) for row in rows]

    def hits(self, clauses, subject, start, stop):
        query = self._positive_query(clauses)
        marks = {"config": PG_CONFIG, "start_sel": _MARK_START, "stop_sel": _MARK_END}
        articles = (
            self._matching(subject, clauses)
            .select_related("subject")
            .only(*_HIT_FIELDS)
            .annotate(
                search_rank=SearchRank(
                    F("search_document__document"), query, weights=PG_RANK_WEIGHTS
                ),
                question_marked=SearchHeadline(
                    F("search_document__question"), query, highlight_all=True, **marks
                ),
                snippet_marked=SearchHeadline(
                    F("search_document__answer"),
                    query,
                    max_words=SNIPPET_WORDS,
                    min_words=SNIPPET_WORDS // 2,
                    **marks,
                ),
            )
            .order_by("-search_rank", "-date", "pk")[start:stop]
        )
        return [
            Hit(
                article,
                highlighted(article.question_marked),
                highlighted(article.snippet_marked),
                article.search_rank,
            )
            for article in articles
        ]

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
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [FTS_TABLE])
        if cursor.fetchone():
            cursor.execute(SQLITE_DELETE_TRIGGER)


# --- public interface --------------------------------------------------------------------


def search(raw_query, subject=None, using=None):
    """Search published articles.

    ``raw_query``: what the reader typed (any string; see clean_query and parse_query for
    what is made of it). ``subject``: the slug of a subject to search within, or None for
    all (an unknown slug finds nothing).
    Returns SearchResults (lazy: no query runs until it is counted or sliced); it is empty
    when the query holds nothing searchable. Never raises for any query text.
    """
    return SearchResults(backend_for(using), parse_query(clean_query(raw_query)), subject)


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
    return total
