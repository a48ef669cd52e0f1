"""Full-text search over articles: one interface, with the backend picked by the database.

Owns the search index (an FTS5 table on SQLite, a weighted tsvector on PostgreSQL) and its
vocabulary, keeps them in step with articles, and turns a reader's words (misspelled ones
corrected) into ranked, highlighted hits. It never decides visibility: every search starts
from ``Article.objects.published()``.

Here: the public interface (search, ranked_ids, index_articles, reindex, remove, rebuild,
refresh_vocabulary), backend_for and the index's upkeep (ensure_triggers). query.py parses
what a reader typed and makes the indexed text; spelling.py owns the vocabulary and "Did
you mean"; results.py owns SearchResults, Hit and highlighting; sqlite.py and postgres.py
are the two backends, each with its own SQL. The rest of the project uses only this
package's names.
"""

from __future__ import annotations

from django.db import connections, router, transaction

from articles.models import Article
from articles.search.postgres import PG_CONFIG, _PostgresBackend
from articles.search.query import STOP_WORDS, _index_row, clean_query, parse_query, words
from articles.search.results import Hit, SearchResults, SubjectCount
from articles.search.spelling import TERM_TABLE, Suggestion, fold
from articles.search.sqlite import FTS_TABLE, WORDS_TABLE, _SQLiteBackend

__all__ = [
    "FTS_TABLE",
    "INDEXED_FIELDS",
    "PG_CONFIG",
    "RESULTS_PER_PAGE",
    "SQLITE_DELETE_TRIGGER",
    "STOP_WORDS",
    "TERM_TABLE",
    "WORDS_TABLE",
    "Hit",
    "SearchResults",
    "SubjectCount",
    "Suggestion",
    "backend_for",
    "clean_query",
    "ensure_triggers",
    "fold",
    "index_articles",
    "parse_query",
    "ranked_ids",
    "rebuild",
    "refresh_vocabulary",
    "reindex",
    "remove",
    "search",
    "words",
]

#: Results on one page of the search page.
RESULTS_PER_PAGE = 20
#: Article fields the index is built from; saving only other fields skips re-indexing.
INDEXED_FIELDS = frozenset(
    {"question", "title", "article_title", "seo_keywords", "answer", "answer_html"}
)
# What index_articles reads of an article.
_INDEX_FIELDS = ("question", "title", "article_title", "seo_keywords", "answer_html")


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


def index_articles(articles, using=None, answer_texts=None):
    """Write (insert or replace) the index entries of ``articles``: Article instances with
    at least pk, question, title, article_title, seo_keywords and answer_html loaded.
    ``answer_texts``: their answers' plain text in the same order, when already made (the
    import's workers make it); else made here from answer_html. Drafts are indexed too:
    visibility is decided when searching, so publishing needs no re-indexing. Call it
    inside the transaction that wrote the articles."""
    articles = list(articles)
    texts = [None] * len(articles) if answer_texts is None else answer_texts
    rows = [_index_row(article, text) for article, text in zip(articles, texts, strict=True)]
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
