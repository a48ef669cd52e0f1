"""Forgiving search: an index of words as written and a vocabulary; accents never matter;
formulas indexed as linear text (see articles.search and articles.plaintext).

SQLite: an FTS5 table of the same text without stemming (external content: the main
index's own), fts5vocab over it, and the vocabulary table filled from that. PostgreSQL:
text search configurations that remove accents (unaccent), the stored vector rebuilt with
them, a stored vector of the words as typed (for phrases), and the vocabulary table with a trigram index (pg_trgm). On both, every article is
indexed again, since the indexed text of formulas changed.
"""

import django.contrib.postgres.search
from django.db import migrations, models

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE articles_search_words USING fts5(
        question, title, keywords, answer,
        content = 'articles_search_fts',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    "CREATE VIRTUAL TABLE articles_search_vocab USING fts5vocab(articles_search_words, 'row')",
    """
    CREATE TABLE articles_search_term (
        term TEXT NOT NULL PRIMARY KEY,
        documents INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    # The delete trigger now forgets an article in both tables (articles.search).
    "DROP TRIGGER IF EXISTS articles_search_fts_forget",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS articles_search_fts_forget",
    "DROP TABLE IF EXISTS articles_search_term",
    "DROP TABLE IF EXISTS articles_search_vocab",
    "DROP TABLE IF EXISTS articles_search_words",
    """
    CREATE TRIGGER articles_search_fts_forget AFTER DELETE ON articles_article
    BEGIN
        DELETE FROM articles_search_fts WHERE rowid = old.id;
    END
    """,
]

POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TEXT SEARCH CONFIGURATION learn_english (COPY = english)",
    "ALTER TEXT SEARCH CONFIGURATION learn_english "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem",
    "CREATE TEXT SEARCH CONFIGURATION learn_simple (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION learn_simple "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    "DROP INDEX IF EXISTS articles_search_document_gin",
    "ALTER TABLE articles_search_document DROP COLUMN document",
    """
    ALTER TABLE articles_search_document ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('learn_english'::regconfig, question || ' ' || title), 'A')
        || setweight(to_tsvector('learn_english'::regconfig, keywords), 'B')
        || setweight(to_tsvector('learn_english'::regconfig, answer), 'C')
    ) STORED
    """,
    # The words as typed, for phrases and the vocabulary; searched only within matches,
    # so it has no index of its own.
    """
    ALTER TABLE articles_search_document ADD COLUMN words tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('learn_simple'::regconfig, question || ' ' || title), 'A')
        || to_tsvector('learn_simple'::regconfig, keywords || ' ' || answer)
    ) STORED
    """,
    """
    CREATE TABLE articles_search_term (
        term text PRIMARY KEY,
        documents integer NOT NULL
    )
    """,
    "CREATE INDEX articles_search_term_trgm ON articles_search_term USING gin (term gin_trgm_ops)",
]
POSTGRESQL_INDEX = [
    "CREATE INDEX articles_search_document_gin ON articles_search_document USING gin (document)",
    "ANALYZE articles_search_document",
]
POSTGRESQL_BACKWARD = [
    "DROP TABLE IF EXISTS articles_search_term",
    "ALTER TABLE articles_search_document DROP COLUMN words",
    "DROP INDEX IF EXISTS articles_search_document_gin",
    "ALTER TABLE articles_search_document DROP COLUMN document",
    """
    ALTER TABLE articles_search_document ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, question || ' ' || title), 'A')
        || setweight(to_tsvector('english'::regconfig, keywords), 'B')
        || setweight(to_tsvector('english'::regconfig, answer), 'C')
    ) STORED
    """,
    "CREATE INDEX articles_search_document_gin ON articles_search_document USING gin (document)",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS learn_simple",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS learn_english",
]

BATCH_SIZE = 1000


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    # Imported when the migration runs: loading migrations must not import the models.
    from articles import search  # noqa: PLC0415

    vendor = schema_editor.connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        return
    alias = schema_editor.connection.alias
    _run(schema_editor, SQLITE_FORWARD if vendor == "sqlite" else POSTGRESQL_FORWARD)
    if vendor == "sqlite":
        search.ensure_triggers(alias)
    search.backend_for(alias).clear()
    Article = apps.get_model("articles", "Article")
    articles = (
        Article.objects.using(alias)
        .only("question", "title", "article_title", "seo_keywords", "answer_html")
        .order_by("pk")
    )
    batch = []
    for article in articles.iterator(BATCH_SIZE):
        batch.append(article)
        if len(batch) == BATCH_SIZE:
            search.index_articles(batch, using=alias)
            batch = []
    search.index_articles(batch, using=alias)
    if vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_INDEX)
    search.backend_for(alias).optimise()
    search.refresh_vocabulary(using=alias)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("articles", "0006_article_version")]
    operations = [
        # Unmanaged: the state Django needs for the vocabulary's queries; no table is made.
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                ("term", models.TextField(primary_key=True, serialize=False)),
                ("documents", models.IntegerField(help_text="Articles holding the word.")),
            ],
            options={"db_table": "articles_search_term", "managed": False, "ordering": ["term"]},
        ),
        migrations.AddField(
            model_name="searchdocument",
            name="words",
            field=django.contrib.postgres.search.SearchVectorField(
                help_text="The words as typed, unstemmed (migration 0007)."
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
