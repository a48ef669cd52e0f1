"""The full-text search index, built for the database in use (see articles.search).

SQLite: an FTS5 table whose rowid is the article's id. PostgreSQL: a table with a stored,
weighted tsvector (A question and title, B keywords, C answer) and a GIN index. On both,
a trigger drops an article's entry when the article row is deleted. Existing articles
are indexed here, so search works as soon as the migration has run.
"""
from django.db import migrations, models
import django.contrib.postgres.search
import django.db.models.deletion

SQLITE_FORWARD = [
    # Porter stems English words (rank/ranking); unicode61 folds case and, with
    # remove_diacritics 2, accents, for any script.
    """
    CREATE VIRTUAL TABLE articles_search_fts USING fts5(
        question, title, keywords, answer,
        tokenize = 'porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER articles_search_fts_forget AFTER DELETE ON articles_article
    BEGIN
        DELETE FROM articles_search_fts WHERE rowid = old.id;
    END
    """,
]
# Merge the segments written while indexing existing articles into one.
SQLITE_OPTIMISE = ["INSERT INTO articles_search_fts (articles_search_fts) VALUES ('optimize')"]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS articles_search_fts_forget",
    "DROP TABLE IF EXISTS articles_search_fts",
]

POSTGRESQL_FORWARD = [
    # No foreign key: a TRUNCATE of articles (Django's test flush) would refuse to run
    # past one; the triggers below keep the two tables in step instead.
    """
    CREATE TABLE articles_search_document (
        article_id bigint PRIMARY KEY,
        question text NOT NULL,
        title text NOT NULL,
        keywords text NOT NULL,
        answer text NOT NULL,
        document tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, question || ' ' || title), 'A')
            || setweight(to_tsvector('english'::regconfig, keywords), 'B')
            || setweight(to_tsvector('english'::regconfig, answer), 'C')
        ) STORED
    )
    """,
    """
    CREATE FUNCTION articles_search_document_forget() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE' THEN
            TRUNCATE articles_search_document;
        ELSE
            DELETE FROM articles_search_document AS d USING gone WHERE d.article_id = gone.id;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER articles_search_document_forget AFTER DELETE ON articles_article
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION articles_search_document_forget()
    """,
    """
    CREATE TRIGGER articles_search_document_forget_all AFTER TRUNCATE ON articles_article
    FOR EACH STATEMENT EXECUTE FUNCTION articles_search_document_forget()
    """,
]
# Made after the existing articles are indexed: building it at once is faster than
# growing it row by row, and leaves no pending list for searches to scan.
POSTGRESQL_INDEX = [
    "CREATE INDEX articles_search_document_gin ON articles_search_document USING gin (document)",
    "ANALYZE articles_search_document",
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS articles_search_document_forget_all ON articles_article",
    "DROP TRIGGER IF EXISTS articles_search_document_forget ON articles_article",
    "DROP FUNCTION IF EXISTS articles_search_document_forget()",
    "DROP TABLE IF EXISTS articles_search_document",
]

BATCH_SIZE = 1000


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def create_index(apps, schema_editor):
    # Imported when the migration runs: loading migrations must not import the models.
    from articles import search  # noqa: PLC0415

    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_FORWARD)
    else:
        return
    alias = schema_editor.connection.alias
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
    _run(schema_editor, SQLITE_OPTIMISE if vendor == "sqlite" else POSTGRESQL_INDEX)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_BACKWARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRESQL_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("articles", "0003_editors_group")]
    operations = [
        # Unmanaged: the state Django needs for the PostgreSQL queries; no table is made.
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "article",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="articles.article",
                    ),
                ),
                ("question", models.TextField()),
                (
                    "title",
                    models.TextField(help_text="Titles that differ from the question, if any."),
                ),
                ("keywords", models.TextField()),
                ("answer", models.TextField(help_text="The answer as plain text.")),
                ("document", django.contrib.postgres.search.SearchVectorField()),
            ],
            options={"db_table": "articles_search_document", "managed": False},
        ),
        migrations.RunPython(create_index, drop_index),
    ]
