"""Search: query parsing, ranking, snippets, keeping the index in step, the search page."""

import random
import re
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import search
from articles.canonical import update_canonical
from articles.models import Article, Subject
from articles.search import postgres, spelling, sqlite
from articles.search.query import MAX_QUERY_LENGTH, plain_text
from articles.search.results import highlighted
from bench.management.commands.bench_search import make_queries, misspell
from tests.conftest import run_import

HOSTILE_QUERIES = [
    "",
    "   ",
    "x" * 5000,
    "word " * 400,
    "?!.,;:",
    '"',
    '""',
    '"unclosed phrase',
    "*",
    "chain*",
    "-",
    "--rule",
    "-chain",
    "NEAR",
    "NEAR(chain rule)",
    "chain NEAR/2 rule",
    "chain AND rule",
    "chain OR",
    "OR chain",
    "NOT chain",
    "chain NOT rule",
    "^chain",
    "question:chain",
    "{question answer}:chain",
    "(chain",
    "chain)",
    "((()))",
    "'; DROP TABLE articles_article; --",
    "a & b | !c <-> d",
    "x:* & y:A",
    "\\",
    "%_%",
    "\x00chain\x01",
    "Привет мир",
    "数学 问题",
    "مرحبا بالعالم",
    "😀🚀",
    "chain 😀 rule",
    "café naïve",
]

#: Queries a search page costs, whatever the number of results: SQLite counts per subject,
#: ranks, then highlights and loads the page's rows; PostgreSQL counts per subject, then
#: ranks, highlights and loads the page in one query.
PAGE_QUERIES = {"sqlite": 3, "postgresql": 2}


@pytest.fixture
def maths(db):
    return Subject.objects.create(title="Mathematics", slug="mathematics", position=1)


@pytest.fixture
def history(db):
    return Subject.objects.create(title="History", slug="history", position=2)


def make_article(subject, slug, question, answer="An answer.", keywords="", **fields):
    return Article.objects.create(
        subject=subject,
        slug=slug,
        question=question,
        title=question,
        article_title=question,
        answer=answer,
        seo_keywords=keywords,
        date=date(2024, 11, 29),
        **fields,
    )


def found(query, subject=None):
    """Slugs of the hits of ``query``, best first."""
    return [hit.article.slug for hit in search.search(query, subject)[0:100]]


def index_size():
    table = search.FTS_TABLE if connection.vendor == "sqlite" else "articles_search_document"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return cursor.fetchone()[0]


# --- queries, without a database ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("chain rule", [("chain",), ("rule",)]),
        ("Chain RULE", [("chain",), ("rule",)]),
        ('"chain rule" calculus', [("chain", "rule"), ("calculus",)]),
        ("long-term memory", [("long", "term"), ("memory",)]),
        ("what is the chain rule", [("chain",), ("rule",)]),
        ("the what is", []),
        ("?!*^:()", []),
        ("-chain", []),
    ],
)
def test_parse_query_keeps_words_and_phrases_and_drops_stop_words(text, clauses):
    assert [c.words for c in search.parse_query(text)] == clauses


def test_parse_query_reads_minus_as_exclusion_and_or_as_alternative():
    clauses = search.parse_query("depreciation -salvage market or finance")
    assert [(c.words, c.negated, c.or_next) for c in clauses] == [
        (("depreciation",), False, False),
        (("salvage",), True, False),
        (("market",), False, True),
        (("finance",), False, False),
    ]


def test_clean_query_cuts_long_queries_and_removes_control_characters():
    assert search.clean_query("a\x00b\x1f  c\n") == "a b c"
    assert len(search.clean_query("x" * 5000)) == MAX_QUERY_LENGTH
    assert search.clean_query(None) == ""


@pytest.mark.parametrize("text", HOSTILE_QUERIES)
def test_fts5_expression_is_only_quoted_strings_and_operators(text):
    expression = sqlite.fts5_expression(search.parse_query(search.clean_query(text)))
    outside_quotes = re.sub(r'"(?:[^"]|"")*"', " ", expression)
    assert re.fullmatch(r"(?:\s|\(|\)|AND|OR|NOT)*", outside_quotes)


def test_plain_text_keeps_words_apart_and_decodes_entities():
    html = (
        "<p>Cost of <strong>Asset</strong>: &lt;script&gt;</p><ul><li>one</li><li>two</li></ul>"
        "<math><mrow><mtext>Salvage</mtext><mtext>Value</mtext></mrow></math>"
    )
    assert plain_text(html) == "Cost of Asset: <script> one two Salvage Value"


def test_highlighted_escapes_everything_but_the_marks():
    text = "<script>alert(1)</script> \x02chain\x03 & \x02rule\x03"
    assert str(highlighted(text)) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>chain</mark> &amp; <mark>rule</mark>"
    )


# --- ranking ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_match_in_the_question_outranks_one_in_the_answer(maths):
    make_article(maths, "mentions", "How do you factor a polynomial?", "Unlike the eigenvalue, …")
    make_article(maths, "about", "What is an eigenvalue?", "A scalar λ such that Av = λv.")
    assert found("eigenvalue") == ["about", "mentions"]


@pytest.mark.django_db
def test_a_match_in_the_keywords_outranks_one_in_the_answer(maths):
    make_article(maths, "mentions", "How do you add fractions?", "Matrices aside, add them.")
    make_article(maths, "tagged", "How do you multiply two grids?", "Row by column.", "matrices")
    assert found("matrices") == ["tagged", "mentions"]


@pytest.mark.django_db
def test_every_word_must_match(maths):
    make_article(maths, "both", "Chain rule for derivatives", "Differentiate the outside.")
    make_article(maths, "one", "Chain of events", "Unrelated.")
    assert found("chain derivatives") == ["both"]


@pytest.mark.django_db
def test_words_match_their_other_forms(maths):
    make_article(maths, "ranks", "How are students ranked?", "By their marks.")
    assert found("ranking student") == ["ranks"]


@pytest.mark.django_db
def test_a_minus_excludes_articles_holding_the_word(maths):
    make_article(maths, "straight", "Straight-line depreciation", "Cost less salvage value.")
    make_article(maths, "declining", "Declining balance depreciation", "A fixed rate.")
    assert found("depreciation -salvage") == ["declining"]


@pytest.mark.django_db
def test_or_offers_alternatives(maths):
    make_article(maths, "market", "What is a market?", "Buyers and sellers.")
    make_article(maths, "finance", "What is finance?", "Money over time.")
    make_article(maths, "neither", "What is a matrix?", "A grid.")
    assert sorted(found("market OR finance")) == ["finance", "market"]


@pytest.mark.django_db
@pytest.mark.parametrize("text", HOSTILE_QUERIES)
def test_hostile_queries_never_error(maths, text):
    make_article(maths, "chain-rule", "What is the chain rule?", "Differentiate the outside.")
    results = search.search(text)
    assert results.count() == len(results[0:20])


# --- visibility -------------------------------------------------------------------------


@pytest.mark.django_db
def test_drafts_never_appear(maths):
    make_article(maths, "draft", "Zebra crossings", status=Article.Status.DRAFT)
    assert found("zebra") == []
    assert search.search("zebra").subject_counts == []


@pytest.mark.django_db
def test_scheduled_articles_appear_once_their_time_has_come(maths):
    article = make_article(
        maths, "later", "Zebra crossings", publish_at=timezone.now() + timedelta(days=1)
    )
    assert found("zebra") == []
    # No re-indexing: visibility is decided when searching.
    Article.objects.filter(pk=article.pk).update(publish_at=timezone.now() - timedelta(days=1))
    assert found("zebra") == ["later"]


# --- keeping the index in step ----------------------------------------------------------


@pytest.mark.django_db
def test_saving_an_article_reindexes_it(maths):
    article = make_article(maths, "animal", "Which animal?", "The aardvark digs.")
    article.answer = "The pangolin rolls up."
    article.save()
    assert found("aardvark") == []
    assert found("pangolin") == ["animal"]


@pytest.mark.django_db
def test_saving_only_other_fields_keeps_the_entry(maths):
    article = make_article(maths, "animal", "Which animal?", "The aardvark digs.")
    article.status = Article.Status.DRAFT
    article.save(update_fields=["status"])
    article.status = Article.Status.PUBLISHED
    article.save(update_fields=["status"])
    assert found("aardvark") == ["animal"]


@pytest.mark.django_db
def test_deleting_an_article_removes_its_entry(maths):
    article = make_article(maths, "animal", "Which animal?", "The aardvark digs.")
    make_article(maths, "other", "Which plant?", "The fern.")
    article.delete()
    assert found("aardvark") == []
    assert index_size() == 1


@pytest.mark.django_db
def test_deleting_many_articles_at_once_removes_their_entries(maths):
    for n in range(3):
        make_article(maths, f"animal-{n}", f"Animal {n}?", "The aardvark digs.")
    Article.objects.filter(slug__startswith="animal").delete()
    assert index_size() == 0


def vocabulary():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT term, documents FROM {search.TERM_TABLE}")
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_the_vocabulary_forgets_the_words_of_changed_and_deleted_articles(maths):
    article = make_article(maths, "animal", "Which animal?", "The aardvark digs.")
    make_article(maths, "plant", "Which plant?", "The aardvark's fern.")
    search.refresh_vocabulary()
    assert vocabulary()["aardvark"] == 2
    article.answer = "The pangolin rolls up."
    article.save()
    search.refresh_vocabulary()
    assert (vocabulary()["aardvark"], vocabulary()["pangolin"]) == (1, 1)
    article.delete()
    search.refresh_vocabulary()
    assert "pangolin" not in vocabulary()
    assert vocabulary()["aardvark"] == 1


@pytest.mark.django_db
def test_an_import_indexes_new_and_changed_articles(write_article, tmp_path):
    write_article(slug="animal", question="Which animal digs?", answer="The aardvark.")
    run_import(tmp_path / "learn")
    assert found("aardvark") == ["animal"]
    write_article(slug="animal", question="Which animal digs?", answer="The pangolin.")
    run_import(tmp_path / "learn")
    assert found("aardvark") == []
    assert found("pangolin") == ["animal"]


@pytest.mark.django_db
def test_the_sample_site_is_searchable_after_its_import(sample_site):
    assert "how-do-you-differentiate-a-composite-function-with-the-chain-rule" in found(
        "chain rule"
    )


@pytest.mark.django_db
def test_rebuild_command_restores_a_lost_index(maths):
    make_article(maths, "animal", "Which animal?", "The aardvark digs.")
    search.backend_for().clear()
    assert found("aardvark") == []
    out = StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert "Indexed 1 articles" in out.getvalue()
    assert found("aardvark") == ["animal"]


@pytest.mark.django_db
def test_rebuild_command_dry_run_changes_nothing(maths):
    make_article(maths, "animal", "Which animal?", "The aardvark digs.")
    search.backend_for().clear()
    out = StringIO()
    call_command("rebuild_search_index", "--dry-run", stdout=out)
    assert "Would index 1 articles" in out.getvalue()
    assert found("aardvark") == []


# --- snippets ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_snippets_mark_the_matched_words(maths):
    make_article(maths, "chain", "What is the chain rule?", "The chain rule differentiates.")
    (hit,) = search.search("chain rule")[0:20]
    assert str(hit.question_html) == "What is the <mark>chain</mark> <mark>rule</mark>?"
    assert "<mark>chain</mark> <mark>rule</mark> differentiates" in str(hit.snippet_html)


@pytest.mark.django_db
def test_snippets_escape_html_held_in_article_text(client, maths):
    make_article(
        maths,
        "escape",
        "What does <b>bold</b> do to the zebra?",
        "Writing `<script>alert('zebra')</script>` shows the zebra tag.",
    )
    html = client.get("/search", {"q": "zebra"}).content.decode()
    # Escaped on SQLite; PostgreSQL's headline parser drops tag-like text. Never raw.
    assert "<script>" not in html
    assert "shows the <mark>zebra</mark>" in html
    assert "What does &lt;b&gt;bold&lt;/b&gt; do to the <mark>zebra</mark>?" in html


# --- the search page --------------------------------------------------------------------


def search_page(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/search", params)
    return response, len(queries)


@pytest.mark.django_db
def test_search_page_lists_results_with_links_subjects_and_snippets(client, maths):
    make_article(maths, "chain-rule", "What is the chain rule?", "The chain rule is a rule.")
    response, _ = search_page(client, q="chain rule")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta name="robots" content="noindex">' in html
    assert "1 result" in html
    assert 'href="/learn/mathematics/questions/chain-rule"' in html
    assert '<a href="/learn/mathematics">Mathematics</a>' in html
    snippet = re.search(r'<p class="search-result__snippet">(.*?)</p>', html)[1]
    assert "<mark>chain</mark> <mark>rule</mark> is a <mark>rule</mark>" in snippet


@pytest.mark.django_db
def test_search_page_costs_a_fixed_number_of_queries(client, maths):
    for n in range(spelling.SUGGEST_BELOW):
        make_article(maths, f"few-{n}", f"Aardvark few {n}?", "Digs.")
    _, one = search_page(client, q="aardvark")
    for n in range(30):
        make_article(maths, f"more-{n}", f"Aardvark {n}?", "Digs.")
    response, many = search_page(client, q="aardvark")
    assert len(response.context["hits"]) == 20
    assert one == many == PAGE_QUERIES[connection.vendor]


@pytest.mark.django_db
def test_search_page_without_words_costs_no_query(client, maths):
    response, queries = search_page(client, q="")
    assert response.status_code == 200
    assert queries == 0
    assert "Type a few words" in response.content.decode()


@pytest.mark.django_db
def test_search_page_paginates_twenty_a_page_keeping_the_query(client, maths):
    for n in range(25):
        make_article(maths, f"aardvark-{n:02d}", f"Aardvark question {n}?", "Digs.")
    first, _ = search_page(client, q="aardvark", subject="mathematics")
    assert len(first.context["hits"]) == 20
    assert 'href="?q=aardvark&amp;subject=mathematics&amp;page=2"' in first.content.decode()
    second, _ = search_page(client, q="aardvark", subject="mathematics", page=2)
    assert len(second.context["hits"]) == 5
    assert search_page(client, q="aardvark", page=3)[0].status_code == 404


@pytest.mark.django_db
def test_subject_filter_limits_results_and_offers_counts(client, maths, history):
    make_article(maths, "m1", "Aardvark sums?", "Digs.")
    make_article(maths, "m2", "Aardvark products?", "Digs.")
    make_article(history, "h1", "Aardvark empires?", "Digs.")
    response, _ = search_page(client, q="aardvark", subject="history")
    assert [hit.article.slug for hit in response.context["hits"]] == ["h1"]
    html = response.content.decode()
    assert '<option value="">All subjects (3)</option>' in html
    assert '<option value="history" selected>History (1)</option>' in html
    assert '<option value="mathematics">Mathematics (2)</option>' in html


@pytest.mark.django_db
def test_no_results_page_suggests_what_to_try(client, maths, history):
    make_article(maths, "m1", "Aardvark sums?", "Digs.")
    response, _ = search_page(client, q="aardvark", subject="history")
    html = response.content.decode()
    assert "No questions match “aardvark” in History" in html
    assert 'href="?q=aardvark">See 1 result in all subjects</a>' in html
    assert "Check the spelling" in html
    assert 'href="/learn"' in html


@pytest.mark.django_db
def test_a_query_of_stop_words_only_says_so(client, maths):
    html = search_page(client, q="what is the")[0].content.decode()
    assert "Nothing to search for in “what is the”" in html


@pytest.mark.django_db
@pytest.mark.parametrize("text", HOSTILE_QUERIES)
def test_search_page_answers_hostile_queries(client, maths, text):
    make_article(maths, "chain-rule", "What is the chain rule?", "Differentiate the outside.")
    assert search_page(client, q=text, subject=text[:50])[0].status_code == 200


@pytest.mark.django_db
def test_every_page_has_a_labelled_search_box(client, sample_site):
    for path in ("/learn", "/learn/mathematics"):
        html = client.get(path).content.decode()
        assert '<form class="site-search" role="search" method="get" action="/search">' in html
        assert '<label class="visually-hidden" for="site-search-q">Search questions</label>' in html
        assert 'id="site-search-q" type="search" name="q"' in html


# --- forgiving search ------------------------------------------------------------------


def calculus(subject, count=4):
    """``count`` articles about derivatives: "derivative" becomes a common word."""
    for n in range(count):
        make_article(
            subject,
            f"derivative-{n}",
            f"How do you take the derivative of function {n}?",
            "Differentiate term by term.",
        )
    search.refresh_vocabulary()


@pytest.mark.django_db
def test_a_misspelled_word_is_searched_corrected_and_says_so(client, maths):
    calculus(maths)
    results = search.search("derivitive")
    assert results.corrected
    assert results.suggestion.text == "derivative"
    assert results.count() == 4
    html = client.get("/search", {"q": "derivitive"}).content.decode()
    assert "No questions match “derivitive”. Showing results for" in html
    assert '<a href="?q=derivative"><strong>derivative</strong></a>' in html
    assert html.count('class="search-result"') == 4


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("derviative", "derivative"), ("derivatve", "derivative"), ("dreivative", "derivative")],
)
@pytest.mark.django_db
def test_a_swapped_or_dropped_letter_is_corrected(maths, typed, meant):
    calculus(maths)
    assert search.search(f"function {typed}").suggestion.text == f"function {meant}"


@pytest.mark.django_db
def test_a_rare_word_that_finds_a_little_is_offered_a_common_one(client, maths):
    calculus(maths, count=spelling.SUGGEST_RATIO + 1)
    make_article(maths, "typo", "A derivitive spelt wrong?", "Once.")
    search.refresh_vocabulary()
    results = search.search("derivitive")
    assert not results.corrected
    assert found("derivitive") == ["typo"]
    assert results.suggestion.text == "derivative"
    html = client.get("/search", {"q": "derivitive"}).content.decode()
    assert 'Did you mean <a href="?q=derivative"><strong>derivative</strong></a>?' in html


@pytest.mark.django_db
def test_common_words_are_never_corrected(maths):
    calculus(maths)
    results = search.search("derivative function 2")
    assert results.count() == 1
    assert results.suggestion is None


@pytest.mark.django_db
def test_a_word_with_no_neighbour_finds_nothing_and_offers_nothing(client, maths):
    calculus(maths)
    results = search.search("zzyzx")
    assert (results.count(), results.suggestion, results.corrected) == (0, None, False)
    assert "Did you mean" not in client.get("/search", {"q": "zzyzx"}).content.decode()


@pytest.mark.django_db
def test_a_correction_that_finds_nothing_either_is_not_offered(maths):
    calculus(maths)
    make_article(maths, "zebra", "Zebra crossings?", "Stripes.")
    search.refresh_vocabulary()
    results = search.search("derivitive zebra")
    assert (results.count(), results.suggestion, results.corrected) == (0, None, False)


@pytest.mark.django_db
def test_a_corrected_search_costs_two_more_queries(client, maths):
    calculus(maths)
    _, plain = search_page(client, q="derivative")
    _, corrected = search_page(client, q="derivitive")
    assert corrected == plain + 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "slug"), [("CAFÉ", "cafe"), ("cafe", "cafe"), ("naïve", "naive")]
)
def test_accents_and_case_never_matter(maths, typed, slug):
    make_article(maths, "cafe", "Where is the Café?", "Near the station.")
    make_article(maths, "naive", "What is a naive set?", "A set.")
    assert found(typed) == [slug]


@pytest.mark.django_db
def test_the_vocabulary_is_refreshed_after_an_import(write_article, tmp_path):
    for n in range(4):
        write_article(slug=f"q-{n}", question=f"Which photosynthesis step {n}?", id=n + 1)
    run_import(tmp_path / "learn")
    assert search.search("photosynthsis").suggestion.text == "photosynthesis"


def test_best_correction_prefers_fewer_edits_then_more_articles():
    candidates = [("derivative", 50), ("derivatives", 500), ("derivation", 900)]
    assert spelling.best_correction("derivatve", 0, candidates) == "derivative"
    assert spelling.best_correction("derivatve", 10, candidates) is None  # common enough
    assert spelling.best_correction("derivatve", 2, [("derivative", 15)]) is None  # < 10x


# --- ranking on phrases, questions and proximity ----------------------------------------


@pytest.mark.django_db
def test_the_phrase_in_an_answer_outranks_stemmed_words_in_a_question(maths):
    computing = Subject.objects.create(title="Computer Science", slug="cs", position=2)
    make_article(
        computing,
        "forward-chaining",
        "How does forward chaining apply rules in an expert system?",
        "Each rule fires on known facts; a derivative fact is added to memory.",
    )
    make_article(
        maths,
        "power",
        "How do you differentiate (4x − 3)^5?",
        "By the chain rule the derivative is 5(4x − 3)^4 · 4.",
    )
    assert found("derivative chain rule") == ["power", "forward-chaining"]


@pytest.mark.django_db
def test_an_exact_phrase_in_the_question_comes_first(maths):
    make_article(maths, "scattered", "Which rule breaks a chain of reasoning?", "Modus ponens.")
    make_article(maths, "phrase", "What is the chain rule?", "Differentiate the outside.")
    assert found("chain rule") == ["phrase", "scattered"]


@pytest.mark.django_db
def test_words_close_together_outrank_words_far_apart(maths):
    filler = " ".join(["padding"] * 40)
    make_article(maths, "far", "One question?", f"The marginal {filler} revenue grows.")
    make_article(maths, "near", "Another question?", f"The marginal revenue grows. {filler}")
    assert found("marginal revenue") == ["near", "far"]


@pytest.mark.django_db
def test_pages_past_the_reranked_ones_list_every_other_hit_once(maths, monkeypatch):
    monkeypatch.setattr(postgres, "PG_RERANK", 20)
    for n in range(45):
        make_article(maths, f"zebra-{n:02d}", f"Zebra {n}?", "Zebra " * (n % 5 + 1))
    results = search.search("zebra")
    pages = [results[start : start + 20] for start in (0, 20, 40)]
    assert [len(page) for page in pages] == [20, 20, 5]
    slugs = [hit.article.slug for page in pages for hit in page]
    assert len(set(slugs)) == 45


# --- one hit per article ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_cross_posted_article_is_one_hit_its_listed_copy(client, maths):
    others = Subject.objects.create(title="Others", slug="others", position=9, listed=False)
    make_article(others, "zebra", "Zebra crossings?", "Stripes.", source_id=7)
    make_article(maths, "zebra", "Zebra crossings?", "Stripes.", source_id=7)
    update_canonical()
    (hit,) = search.search("zebra")[0:20]
    assert hit.article.subject.slug == "mathematics"
    results = search.search("zebra")
    assert results.count() == 1
    assert [(row.slug, row.count) for row in results.subject_counts] == [("mathematics", 1)]
    assert found("zebra", "others") == []
    html = client.get("/search", {"q": "zebra"}).content.decode()
    assert html.count('class="search-result"') == 1
    assert "/learn/others/questions/zebra" not in html


@pytest.mark.django_db
def test_a_copy_stands_in_when_its_canonical_copy_is_a_draft(maths, history):
    draft = make_article(maths, "zebra", "Zebra crossings?", status=Article.Status.DRAFT)
    make_article(history, "zebra", "Zebra crossings?", canonical=draft)
    assert found("zebra") == ["zebra"]
    assert search.search("zebra")[0:1][0].article.subject_id == history.pk


# --- readable snippets ------------------------------------------------------------------


@pytest.mark.django_db
def test_snippets_show_formulas_as_text_students_write(maths):
    make_article(
        maths,
        "power",
        "How do you expand a power?",
        r"Expand $(4x - 3)^5$ then take $\sqrt{x}$ over $\frac{a}{b}$ of the zebra.",
    )
    (hit,) = search.search("zebra")[0:20]
    snippet = str(hit.snippet_html)
    assert "(4x − 3)^5" in snippet
    assert "√x" in snippet
    assert "a/b" in snippet
    assert "<mark>zebra</mark>" in snippet
    assert "<" not in re.sub(r"</?mark>", "", snippet)  # no other HTML


# --- benchmark --------------------------------------------------------------------------


@pytest.mark.django_db
def test_bench_command_prints_recall_and_latency(sample_site):
    out = StringIO()
    call_command("bench_search", "--queries", "3", stdout=out)
    text = out.getvalue()
    assert "3 queries of 3 words (seed 6; 1 misspelled)" in text
    assert re.search(r"latency ms: p50 [\d.]+  p95 [\d.]+", text)
    for kind in ("all", "clean", "misspelled"):
        assert re.search(rf"recall +{kind}: top-1 \d/\d = [\d.]+  top-3 \d/\d = [\d.]+", text)


def test_recall_set_misspells_every_third_query_by_one_swap_or_drop(sample_site):
    queries = make_queries(6, 2, seed=1)
    assert [q.misspelled for q in queries] == [False, False, True] * 2
    for query in queries:
        assert Article.objects.filter(pk=query.article_id, canonical__isnull=True).exists()


@pytest.mark.parametrize(
    ("word", "seed"), [("derivative", 1), ("derivative", 2), ("photosynthesis", 3)]
)
def test_misspell_swaps_neighbours_or_drops_one_letter(word, seed):
    typo = misspell(word, random.Random(seed))
    assert typo != word and typo[0] == word[0]
    assert len(typo) == len(word) and sorted(typo) == sorted(word) or len(typo) == len(word) - 1


def test_pages_of_a_long_result_list_show_every_hit_once(maths):
    # More matches than PostgreSQL reranks (PG_RERANK), in pages that straddle that rank:
    # each match appears on exactly one page, whatever the database.
    total = postgres.PG_RERANK + 20
    for n in range(total):
        Article.objects.create(
            subject=maths,
            slug=f"zebra-{n}",
            title="t",
            question=f"Zebra question {n}?",
            answer="zebra " * (n % 7 + 1),
            date="2024-01-01",
        )
    results = search.search("zebra")
    size = search.RESULTS_PER_PAGE
    pages = [results[start : start + size] for start in range(0, total, size)]
    shown = [hit.article.pk for page in pages for hit in page]
    assert results.count() == total
    assert len(shown) == len(set(shown)) == total
    assert [len(page) for page in pages[:-1]] == [size] * (len(pages) - 1)
