"""Moved addresses: the collapsed Redirect table, editor moves, the moved-questions file and
the 301s readers get."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from articles.addresses import article_path
from articles.importing import import_paths
from articles.models import Article, Redirect, Subject
from articles.redirects import plan_redirects, record_moves
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

OPTIMIZERS = "/learn/computer-science/questions/how-do-momentum-based-optimizers-update-weights"
EQUATION = "/learn/accounting-and-finance/questions/what-is-the-accounting-equation"


def rows():
    return dict(Redirect.objects.values_list("old_path", "new_path"))


def write_moved(tmp_path, *moves):
    path = tmp_path / "moved-questions.json"
    items = [
        {"previous_subject": old, "slug": slug, "current_subject": new} for old, slug, new in moves
    ]
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def import_redirects(path, **options):
    out = StringIO()
    call_command("import_redirects", str(path), stdout=out, **options)
    return out.getvalue()


def test_article_path_matches_the_urlconf():
    assert article_path("mathematics", "a-b") == reverse(
        "articles:detail", kwargs={"subject": "mathematics", "slug": "a-b"}
    )


# --- the collapsed table ---------------------------------------------------------------


def test_a_second_move_collapses_the_chain():
    record_moves({"/learn/a/questions/x": "/learn/b/questions/x"})
    record_moves({"/learn/b/questions/x": "/learn/c/questions/x"})
    assert rows() == {
        "/learn/a/questions/x": "/learn/c/questions/x",
        "/learn/b/questions/x": "/learn/c/questions/x",
    }


def test_moving_back_leaves_no_loop():
    record_moves({"/learn/x/questions/q": "/learn/y/questions/q"})
    record_moves({"/learn/y/questions/q": "/learn/x/questions/q"})
    assert rows() == {"/learn/y/questions/q": "/learn/x/questions/q"}


def test_moving_back_after_a_chain_keeps_every_address_working():
    record_moves({"/learn/a/questions/x": "/learn/b/questions/x"})
    record_moves({"/learn/b/questions/x": "/learn/c/questions/x"})
    record_moves({"/learn/c/questions/x": "/learn/a/questions/x"})
    assert rows() == {
        "/learn/b/questions/x": "/learn/a/questions/x",
        "/learn/c/questions/x": "/learn/a/questions/x",
    }


# --- planning the moved-questions file (pure) -------------------------------------------

A, B, C, D = (f"/learn/{s}/questions/q" for s in "abcd")


def rank(path):
    return path


@pytest.mark.parametrize(
    "moves, live, expected",
    [
        ([(A, B)], {B}, {A: B}),
        # A chain collapses: A→B→C gives A→C and B→C.
        ([(A, B), (B, C)], {C}, {A: C, B: C}),
        # Listed with two new places: the one holding an article wins...
        ([(A, B), (A, C)], {B}, {A: B}),
        # ...and between two that both do, the later entry.
        ([(A, B), (A, C)], {B, C}, {A: C}),
        # A loop with no way out ends at its address that holds an article.
        ([(A, B), (B, A)], {B}, {A: B}),
        ([(A, B), (B, C), (C, A)], {C}, {A: C, B: C}),
        # An old address whose article still stands, moved to nowhere, keeps no row.
        ([(A, B)], {A}, {}),
        # Its article still stands but the new place holds one too: the row is kept
        # (the article is served; the row names the current copy).
        ([(A, B)], {A, B}, {A: B}),
    ],
)
def test_plan_redirects(moves, live, expected):
    targets, _ = plan_redirects(moves, live, rank)
    assert targets == expected


def test_plan_counts_the_files_warts():
    moves = [(A, B), (A, B), (A, C), (B, D), (C, C)]
    _, report = plan_redirects(moves, {D}, rank)
    assert (report.entries, report.duplicates, report.conflicting, report.chains) == (5, 1, 1, 1)


# --- serving ----------------------------------------------------------------------------


def test_a_moved_address_answers_301_to_the_clean_address_in_one_hop(client, sample_site):
    record_moves({"/learn/mathematics/questions/old-slug": EQUATION})
    response = client.get("/learn/mathematics/questions/old-slug?utm_source=x&page=2")
    assert response.status_code == 301
    assert response["Location"] == EQUATION  # an article page reads no parameter
    assert client.get(response["Location"]).status_code == 200


def test_a_moved_subject_keeps_the_page_number_it_reads(client, sample_site):
    record_moves({"/learn/maths": "/learn/mathematics"})
    response = client.get("/learn/maths?page=02&utm_source=x")
    assert (response.status_code, response["Location"]) == (301, "/learn/mathematics?page=2")


def test_an_article_standing_at_an_old_address_is_served(client, sample_site):
    old = "/learn/mathematics/questions/how-do-you-expand-a-perfect-square"
    Redirect.objects.create(old_path=old, new_path=EQUATION, source="moved-file")
    response = client.get(old)
    assert response.status_code == 200
    assert "How do you expand a perfect square?" in response.content.decode()


def test_a_draft_at_an_old_address_is_redirected(client, sample_site):
    old = "/learn/mathematics/questions/how-do-you-expand-a-perfect-square"
    Article.objects.filter(slug="how-do-you-expand-a-perfect-square").update(status="draft")
    Redirect.objects.create(old_path=old, new_path=EQUATION, source="moved-file")
    assert client.get(old)["Location"] == EQUATION


def test_head_requests_are_redirected_and_posts_are_not(client, sample_site):
    record_moves({"/learn/mathematics/questions/old-slug": EQUATION})
    assert client.head("/learn/mathematics/questions/old-slug").status_code == 301
    assert client.post("/learn/mathematics/questions/old-slug").status_code in (404, 405)


def test_unknown_addresses_still_answer_404(client, sample_site):
    response = client.get("/learn/mathematics/questions/never-existed")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


# --- editor moves -------------------------------------------------------------------------


def test_changing_an_articles_slug_redirects_its_old_address(client, sample_site):
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    article.slug = "what-does-the-accounting-equation-say"
    article.save()
    response = client.get(EQUATION)
    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url()
    assert client.get(response["Location"]).status_code == 200


def test_changing_an_articles_subject_redirects_its_old_address(client, sample_site):
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    article.subject = Subject.objects.get(slug="mathematics")
    article.save()
    assert rows() == {EQUATION: "/learn/mathematics/questions/what-is-the-accounting-equation"}
    assert client.get(EQUATION).status_code == 301


def test_moving_an_article_back_restores_its_address_without_a_loop(client, sample_site):
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    article.slug = "renamed"
    article.save()
    article.slug = "what-is-the-accounting-equation"
    article.save()
    assert rows() == {"/learn/accounting-and-finance/questions/renamed": EQUATION}
    assert client.get(EQUATION).status_code == 200


def test_a_saved_article_without_a_move_writes_no_redirect(sample_site):
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    article.question = "What is the accounting equation, exactly?"
    article.save()
    assert rows() == {}


def test_a_new_article_at_a_redirected_address_takes_it_back(client, sample_site):
    record_moves({"/learn/mathematics/questions/new-one": EQUATION})
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    article.pk = None
    article.subject = Subject.objects.get(slug="mathematics")
    article.slug = "new-one"
    article.save()
    assert rows() == {}
    assert client.get("/learn/mathematics/questions/new-one").status_code == 200


def test_renaming_a_subject_redirects_its_pages_feed_and_articles(client, sample_site):
    subject = Subject.objects.get(slug="accounting-and-finance")
    subject.slug = "accounting"
    subject.save()
    assert client.get("/learn/accounting-and-finance?page=1")["Location"] == "/learn/accounting"
    assert (
        client.get("/learn/accounting-and-finance/feed.xml")["Location"]
        == "/learn/accounting/feed.xml"
    )
    response = client.get(EQUATION)
    assert response["Location"] == "/learn/accounting/questions/what-is-the-accounting-equation"
    assert client.get(response["Location"]).status_code == 200
    assert len(rows()) == 2 + 2  # subject page, feed, two articles


def test_an_earlier_redirect_follows_a_renamed_subject(client, sample_site):
    record_moves({"/learn/mathematics/questions/old-slug": EQUATION})
    subject = Subject.objects.get(slug="accounting-and-finance")
    subject.slug = "accounting"
    subject.save()
    assert rows()["/learn/mathematics/questions/old-slug"] == (
        "/learn/accounting/questions/what-is-the-accounting-equation"
    )


# --- the moved-questions file -----------------------------------------------------------


def test_the_fixture_file_loads_with_its_warts_counted(client, sample_site):
    out = import_redirects(FIXTURES / "moved-questions.json")
    assert "4 entries: 3 redirects loaded, 1 duplicates, 0 conflicting, 1 chains collapsed" in out
    assert rows() == {
        "/learn/education-studies/questions/how-do-momentum-based-optimizers-update-weights": OPTIMIZERS,
        "/learn/mathematics/questions/what-is-the-accounting-equation": EQUATION,
        "/learn/others/questions/what-is-the-accounting-equation": EQUATION,
    }
    response = client.get("/learn/mathematics/questions/what-is-the-accounting-equation?ref=1")
    assert response["Location"] == EQUATION


def test_loading_the_file_again_gives_the_same_rows(sample_site):
    import_redirects(FIXTURES / "moved-questions.json")
    first = rows()
    import_redirects(FIXTURES / "moved-questions.json")
    assert rows() == first


def test_a_dry_run_writes_nothing(sample_site):
    out = import_redirects(FIXTURES / "moved-questions.json", dry_run=True)
    assert out.startswith("Dry run, nothing written.")
    assert rows() == {}


def test_a_malformed_file_is_refused_with_the_item(tmp_path, db):
    path = tmp_path / "moved.json"
    path.write_text('[{"previous_subject": "a", "slug": "x"}]', encoding="utf-8")
    with pytest.raises(CommandError, match="item 0"):
        import_redirects(path)


def test_editor_redirects_survive_and_win_over_the_file(tmp_path, sample_site):
    record_moves({"/learn/mathematics/questions/old-slug": EQUATION})
    path = write_moved(tmp_path, ("mathematics", "old-slug", "computer-science"))
    import_redirects(path)
    row = Redirect.objects.get(old_path="/learn/mathematics/questions/old-slug")
    assert (row.new_path, row.source) == (EQUATION, "editor")


def test_a_move_to_a_missing_article_leads_to_another_copy_of_the_question(
    client, tmp_path, sample_site
):
    path = write_moved(
        tmp_path, ("biology", "how-do-momentum-based-optimizers-update-weights", "physics")
    )
    out = import_redirects(path)
    assert "1 sent to another copy of the question" in out
    assert (
        client.get("/learn/biology/questions/how-do-momentum-based-optimizers-update-weights")[
            "Location"
        ]
        == OPTIMIZERS
    )


def test_a_move_to_a_missing_question_leads_to_its_subject_page(client, tmp_path, sample_site):
    path = write_moved(tmp_path, ("biology", "what-is-a-limit", "mathematics"))
    out = import_redirects(path)
    assert "1 to the subject page, 0 unresolved" in out
    assert (
        client.get("/learn/biology/questions/what-is-a-limit")["Location"] == "/learn/mathematics"
    )
    # Once the article arrives, loading the file again points the row at it.
    source = FIXTURES / "learn/mathematics/how-do-you-expand-a-perfect-square.md"
    text = source.read_text(encoding="utf-8").replace(
        "how-do-you-expand-a-perfect-square", "what-is-a-limit"
    )
    (tmp_path / "what-is-a-limit.md").write_text(text, encoding="utf-8")
    import_paths([tmp_path / "what-is-a-limit.md"], workers=1)
    import_redirects(path)
    assert client.get("/learn/biology/questions/what-is-a-limit")["Location"] == (
        "/learn/mathematics/questions/what-is-a-limit"
    )


def test_the_corpus_file_loads_collapsed_and_loop_free(corpus, db):
    # Without articles every new place is missing; the table must still be collapsed.
    Subject.objects.bulk_create(
        Subject(slug=entry["slug"], title=entry["title"])
        for entry in json.loads((corpus / "subjects.json").read_text())
    )
    out = import_redirects(corpus / "moved-questions.json")
    assert "2167 entries" in out
    assert "5 duplicates, 20 conflicting, 32 chains collapsed" in out
    table = rows()
    assert not set(table.values()) & set(table)
