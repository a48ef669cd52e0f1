"""articles.exporting and export_articles: the lossless way back to files."""

import shutil

import pytest
from django.core.management import call_command

from articles.exporting import compare_with_sources, load_front_matter, to_text
from articles.importing import import_paths
from articles.models import Article, RelatedLink
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything an import writes, minus bookkeeping that records when and from where."""
    articles = sorted(
        Article.objects.values_list(
            "subject__slug",
            "slug",
            "source_id",
            "title",
            "article_title",
            "question",
            "answer",
            "answer_html",
            "date",
            "date_format",
            "post_on_text",
            "author",
            "subject_name",
            "file_name",
            "seo_title",
            "seo_description",
            "seo_keywords",
            "score",
            "no_index",
            "status",
            "extra_front_matter",
            "front_matter_keys",
            "body",
        )
    )
    links = sorted(
        RelatedLink.objects.values_list(
            "article__slug", "position", "title", "url", "subject_name", "source_id", "target__slug"
        )
    )
    return articles, links


def test_every_fixture_exports_to_the_same_yaml_data(sample_site):
    for article in Article.objects.select_related("subject"):
        source = (FIXTURES / "learn" / article.subject.slug / f"{article.slug}.md").read_text()
        assert load_front_matter(to_text(article)) == load_front_matter(source), article.slug


def test_export_writes_subject_folders_of_slug_files(sample_site, tmp_path):
    call_command("export_articles", str(tmp_path))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md"))
    assert len(files) == 12
    assert "mathematics/how-do-you-expand-a-perfect-square.md" in files


def test_export_of_one_subject(sample_site, tmp_path):
    call_command("export_articles", str(tmp_path), subject="computer-science")
    assert {p.parent.name for p in tmp_path.rglob("*.md")} == {"computer-science"}


def test_answers_are_re_encoded_with_backslash_n(sample_site):
    article = Article.objects.get(slug="how-do-momentum-based-optimizers-update-weights")
    text = to_text(article)
    data = load_front_matter(text)
    assert "\n" not in data["answer"]
    assert "\\nabla L(\\theta)" in data["answer"]
    assert data["answer"].startswith(
        "Momentum keeps a running velocity of past gradients:\\n\\n$$\\nv_t"
    )


def test_import_export_import_leaves_the_database_unchanged(sample_site, tmp_path):
    before = snapshot()
    call_command("export_articles", str(tmp_path / "out"))
    Article.objects.all().delete()
    report = import_paths([tmp_path / "out"], subjects_file=FIXTURES / "subjects.json", workers=1)
    assert report.created == 12 and not report.errors
    assert snapshot() == before


def test_an_edited_article_exports_the_edit(sample_site):
    article = Article.objects.get(slug="what-is-formative-assessment")
    article.answer = "Line one.\nLine two."
    article.seo_description = "Edited description."
    article.no_index = True
    article.save()
    data = load_front_matter(to_text(article))
    assert data["answer"] == "Line one.\\nLine two."
    assert data["seo"]["page_description"] == "Edited description."
    assert data["no_index"] is True


def test_an_article_made_in_the_admin_exports_in_corpus_order(sample_site):
    article = Article.objects.get(slug="what-is-formative-assessment")
    article.pk = None
    article.slug = "a-new-one"
    article.front_matter_keys = []
    article.extra_front_matter = {}
    article.save()
    data = load_front_matter(to_text(article))
    assert list(data)[:4] == ["_schema", "id", "date", "title"]
    assert data["url"] == "/learn/education-studies/questions/a-new-one"
    assert data["file_name"] == "a-new-one.md"


def test_strings_that_need_quoting_survive(sample_site):
    article = Article.objects.get(slug="what-is-formative-assessment")
    article.question = "  leading spaces: and a colon # and a hash"
    article.title = "tab\there"
    data = load_front_matter(to_text(article))
    assert data["question"] == article.question
    assert data["title"] == article.title


def test_compare_with_sources_finds_no_mismatch_on_the_fixtures(sample_site):
    compared, mismatches = compare_with_sources(Article.objects.all())
    assert compared == 12
    assert mismatches == []


def test_compare_with_sources_reports_a_changed_source(sample_site, tmp_path):
    copy = tmp_path / "learn"
    shutil.copytree(FIXTURES / "learn", copy)
    Article.objects.all().delete()
    import_paths([copy], workers=1)
    path = copy / "mathematics" / "how-do-you-expand-a-perfect-square.md"
    path.write_text(path.read_text().replace("author: QuickTakes", "author: Someone"))
    compared, mismatches = compare_with_sources(Article.objects.all())
    assert mismatches == [(str(path.resolve()), "author")]


def test_every_corpus_file_of_a_subject_exports_to_its_yaml_data(corpus):
    import_paths([corpus / "learn" / "computer-science"], workers=1)
    compared, mismatches = compare_with_sources(Article.objects.all())
    assert compared > 500
    assert mismatches == []


@pytest.mark.parametrize(
    "answer",
    [
        "Open C:\\new\\folder and use \\n in C.",
        'Code:\n\n```c\nputs("a\\nb");\nchar *p = C:\\new;\n```\n\nThen $a \\ne b$ and \\nabla.',
        "Two spaces  \nline break, a tab\there, &#92;n written out, and $x\nu$.",
    ],
)
def test_any_answer_an_editor_saves_exports_and_imports_back_identical(
    sample_site, tmp_path, answer
):
    article = Article.objects.get(slug="what-is-formative-assessment")
    article.answer = answer
    article.save()
    call_command("export_articles", str(tmp_path / "out"), subject="education-studies")
    Article.objects.filter(pk=article.pk).delete()
    report = import_paths([tmp_path / "out"], workers=1)
    assert not report.errors
    assert Article.objects.get(slug="what-is-formative-assessment").answer == answer
