"""articles.importing and the import_articles command: rows written, reports, errors."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles import importing, rendering
from articles.importing import import_paths
from articles.management.commands import import_articles
from articles.models import Article, RelatedLink, Subject
from tests.conftest import FIXTURES, run_import

pytestmark = pytest.mark.django_db

SEED = (
    "/learn/others/questions/what-is-the-focus-of-the-world-summit-on-the-information-society-wsis"
)


def test_sample_site_imports_every_fixture(sample_site):
    assert sample_site.created == 12
    assert sample_site.failed == 0
    assert Article.objects.count() == 12
    assert Article.objects.filter(status="published").count() == 12


def test_a_second_run_changes_nothing_and_says_so(sample_site):
    before = list(Article.objects.values_list("pk", "updated"))
    out, err, status = run_import(FIXTURES / "learn", subjects=FIXTURES / "subjects.json")
    assert status == 0
    assert "Nothing changed: all 12 files are already imported." in out
    assert "0 created, 0 updated, 12 unchanged, 0 conflicts, 0 failed" in out
    assert list(Article.objects.values_list("pk", "updated")) == before


def test_subjects_file_sets_titles_order_and_listing(sample_site):
    listed = list(Subject.objects.listed().values_list("slug", flat=True))
    assert listed == [
        "mathematics",
        "computer-science",
        "accounting-and-finance",
        "education-studies",
    ]
    assert Subject.objects.get(slug="others").listed is False


def test_subject_names_in_two_cases_are_one_subject(sample_site):
    subject = Subject.objects.get(slug="education-studies")
    names = set(subject.articles.values_list("subject_name", flat=True))
    assert names == {"Education Studies", "Education studies"}
    assert subject.title == "Education Studies"


def test_without_a_subjects_file_every_subject_is_listed_and_titled_from_files(db):
    import_paths([FIXTURES / "learn"], workers=1)
    assert Subject.objects.filter(listed=False).count() == 0
    assert Subject.objects.get(slug="education-studies").title == "Education Studies"
    assert Subject.objects.get(slug="computer-science").title == "Computer Science"


def test_answers_are_decoded_and_rendered_on_import(sample_site):
    article = Article.objects.get(slug="what-does-staticcast-do-in-c")
    assert "\\n" not in article.answer.replace("\\neq", "")
    assert "```cpp\n#include <cstdarg>" in article.answer
    assert "<pre" in article.answer_html
    assert article.renderer_version > 0


def test_related_links_resolve_including_forward_references(sample_site):
    # The chain-rule article (imported first) links to articles imported after it.
    article = Article.objects.get(
        slug="how-do-you-differentiate-a-composite-function-with-the-chain-rule"
    )
    links = list(article.related_links.order_by("position"))
    assert [link.position for link in links] == [1, 2, 3]
    assert links[0].target.slug == "what-does-it-mean-for-a-matrix-to-be-invertible"
    assert links[1].target.slug == "how-do-momentum-based-optimizers-update-weights"
    assert links[2].target is None  # dangling: no such article
    assert links[2].url == "/learn/mathematics/questions/what-is-a-limit-in-calculus"


def test_dangling_links_are_kept_and_counted(sample_site):
    assert sample_site.dangling_links == 2
    assert RelatedLink.objects.filter(target__isnull=True).count() == 2


def test_a_link_resolves_when_its_target_arrives_in_a_later_run(db, write_article):
    first = write_article(
        slug="first",
        related_article1={
            "id": 2,
            "title": "Second",
            "subject": "Mathematics",
            "url": "/learn/mathematics/questions/second",
        },
    )
    report = import_paths([first], workers=1)
    assert report.dangling_links == 1
    second = write_article(slug="second", id=2)
    report = import_paths([second], workers=1)
    assert report.dangling_links == 0
    link = RelatedLink.objects.get()
    assert link.target.slug == "second"


def test_a_changed_file_updates_its_article(sample_site, write_article, tmp_path):
    path = write_article(
        slug="what-is-formative-assessment",
        subject="education-studies",
        subject_name="Education Studies",
        answer="A new answer.",
    )
    report = import_paths([path], workers=1)
    assert (report.created, report.updated) == (0, 1)
    article = Article.objects.get(slug="what-is-formative-assessment")
    assert article.answer == "A new answer."
    assert "A new answer." in article.answer_html
    assert article.related_links.count() == 0


def test_unknown_keys_and_body_are_stored(sample_site):
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    assert article.extra_front_matter == {"_schema": "default"}
    assert article.body == "\n&nbsp;"
    assert article.front_matter_keys[0] == "_schema"


def test_no_index_is_imported(sample_site):
    assert list(Article.objects.filter(no_index=True).values_list("slug", flat=True)) == [
        "what-was-the-old-curriculum-draft"
    ]


def test_a_bad_file_is_reported_and_the_rest_import(db, write_article, tmp_path):
    write_article(slug="good-one")
    bad = tmp_path / "learn" / "mathematics" / "bad.md"
    bad.write_text("---\ntitle: Derivatives: the chain rule\n---\n", encoding="utf-8")
    write_article(slug="good-two")
    out, err, status = run_import(tmp_path / "learn")
    assert status == 1
    assert f"error: {bad}:2: invalid YAML" in err
    assert "2 created, 0 updated, 0 unchanged, 0 conflicts, 1 failed" in out
    assert set(Article.objects.values_list("slug", flat=True)) == {"good-one", "good-two"}


def test_two_files_with_one_url_fail_the_second(db, write_article, tmp_path):
    write_article(slug="same")
    other = tmp_path / "other"
    other.mkdir()
    text = (tmp_path / "learn" / "mathematics" / "same.md").read_text()
    (other / "copy.md").write_text(text.replace("An answer.", "Another answer."))
    report = import_paths([tmp_path / "learn", other / "copy.md"], workers=1)
    assert report.created == 1
    assert report.failed == 1
    assert "is also the url of" in str(report.errors[0])
    assert Article.objects.get().answer == "An answer."


def test_a_missing_path_is_a_command_error(db, tmp_path):
    out, err, status = run_import(tmp_path / "nowhere")
    assert status == 1
    assert "no such file or folder" in err


def test_progress_lines_when_the_output_is_not_a_terminal(db, monkeypatch):
    monkeypatch.setattr(import_articles, "PROGRESS_SECONDS", 0)
    out, err, status = run_import(FIXTURES / "learn", workers=1)
    lines = [line for line in out.splitlines() if " files (" in line]
    assert len(lines) == 12
    assert lines[0].startswith("1 / 12 files (8%), ")
    assert lines[-1].startswith("12 / 12 files (100%), ") and lines[-1].endswith(" files/s")
    assert "Traceback" not in err


def test_no_progress_lines_at_verbosity_0_or_for_a_short_import(db, monkeypatch):
    out, _, _ = run_import(FIXTURES / "learn", workers=1)  # done long before 5 s
    assert " files (" not in out
    monkeypatch.setattr(import_articles, "PROGRESS_SECONDS", 0)
    out, _, _ = run_import(FIXTURES / "learn", workers=1, verbosity=0)
    assert " files (" not in out


def test_worker_processes_give_the_same_rows_as_one_process(db, settings):
    original = importing.MIN_FILES_FOR_WORKERS
    importing.MIN_FILES_FOR_WORKERS = 1
    try:
        report = import_paths(
            [FIXTURES / "learn"], subjects_file=FIXTURES / "subjects.json", workers=2
        )
    finally:
        importing.MIN_FILES_FOR_WORKERS = original
    assert report.created == 12 and report.failed == 0
    assert RelatedLink.objects.filter(target__isnull=False).count() == 11


def test_saving_in_the_admin_path_renders_the_answer(sample_site):
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    article.answer = "Now **bold**."
    article.save()
    article.refresh_from_db()
    assert "<strong>bold</strong>" in article.answer_html


def test_the_seed_article_of_the_corpus_imports(corpus):
    seed = (
        corpus
        / "learn"
        / "digital-media"
        / "what-is-the-focus-of-the-world-summit-on-the-information-society-wsis.md"
    )
    report = import_paths([seed], workers=1)
    assert report.created == 1
    article = Article.objects.get()
    assert article.subject.slug == "digital-media"
    assert article.related_links.count() == 5
    assert article.answer_html.count("<strong>") == 5


def test_render_articles_re_renders_only_stale_answers(sample_site):
    Article.objects.filter(slug="what-is-the-accounting-equation").update(
        answer_html="stale", renderer_version=0
    )
    out = StringIO()
    call_command("render_articles", workers=1, stdout=out)
    assert "Rendered 1 answers" in out.getvalue()
    article = Article.objects.get(slug="what-is-the-accounting-equation")
    assert article.renderer_version == rendering.RENDERER_VERSION
    assert "<math" in article.answer_html
    out = StringIO()
    call_command("render_articles", workers=1, stdout=out)
    assert "Nothing to render" in out.getvalue()


def test_render_articles_brings_answers_of_the_previous_renderer_up_to_date(
    db, write_article, tmp_path
):
    write_article(answer=r"Both roots: $$x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}$$")
    assert not import_paths([tmp_path / "learn"], workers=1).errors
    # As the previous renderer stored it: plus-minus as an identifier.
    Article.objects.update(
        answer_html="<p><math><mi>±</mi></math></p>",
        renderer_version=rendering.RENDERER_VERSION - 1,
    )
    call_command("render_articles", workers=1, stdout=StringIO())
    article = Article.objects.get()
    assert article.renderer_version == rendering.RENDERER_VERSION
    assert "<mo>±</mo>" in article.answer_html and "<mi>±</mi>" not in article.answer_html


def test_render_articles_all_of_one_subject(sample_site):
    out = StringIO()
    call_command("render_articles", all=True, subject="mathematics", workers=1, stdout=out)
    assert "Rendered 3 answers" in out.getvalue()


def test_new_files_are_looked_up_by_path_through_an_index(sample_site, write_article):
    """Each batch asks whether its new files made articles before, at another address
    (their url changed): by path, through an index, not a read of the whole table."""
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    path = write_article(slug="a-new-question")
    with CaptureQueriesContext(connection) as captured:
        assert import_paths([path], workers=1).created == 1
    lookups = [q["sql"] for q in captured if '"source_path" IN' in q["sql"]]
    assert lookups
    with connection.cursor() as cursor:
        for sql in lookups:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            steps = [row[-1] for row in cursor.fetchall()]
            assert any("INDEX article_source_path" in step for step in steps), steps
