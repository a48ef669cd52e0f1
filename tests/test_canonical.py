"""articles.canonical: one canonical copy per cross-posted article, by the documented rule."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.canonical import update_canonical
from articles.importing import import_paths
from articles.models import Article, Redirect

pytestmark = pytest.mark.django_db

SLUG = "what-is-a-hash-table"
SUBJECTS = {
    "mathematics": "Mathematics",
    "computer-science": "Computer Science",
    "others": "Others",
}


@pytest.fixture
def cross_post(sample_site, write_article, tmp_path):
    """Write and import copies of one article (one source id, one slug) into subjects."""

    def post(*subjects, slug=SLUG, source_id=777, **fields):
        for subject in subjects:
            write_article(
                slug=slug,
                subject=subject,
                subject_name=SUBJECTS[subject],
                id=source_id,
                question="What is a hash table?",
                **fields,
            )
        report = import_paths([tmp_path / "learn"], workers=1)
        assert not report.errors, report.errors
        return {
            a.subject.slug: a for a in Article.objects.filter(slug=slug).select_related("subject")
        }

    return post


def canonical_of(slug=SLUG):
    """{subject slug: subject slug of the copy it names, or None when canonical}."""
    return {
        a.subject.slug: a.canonical.subject.slug if a.canonical else None
        for a in Article.objects.filter(slug=slug).select_related("subject", "canonical__subject")
    }


def test_import_makes_the_copy_in_the_first_listed_subject_canonical(cross_post):
    cross_post("computer-science", "mathematics")
    assert canonical_of() == {"mathematics": None, "computer-science": "mathematics"}


def test_the_moved_questions_file_decides_which_copy_is_canonical(cross_post):
    cross_post("computer-science", "mathematics")
    Redirect.objects.create(
        old_path=f"/learn/mathematics/questions/{SLUG}",
        new_path=f"/learn/computer-science/questions/{SLUG}",
        source="moved-file",
    )
    update_canonical()
    assert canonical_of() == {"mathematics": "computer-science", "computer-science": None}


def test_an_editor_redirect_does_not_decide_the_canonical_copy(cross_post):
    cross_post("computer-science", "mathematics")
    Redirect.objects.create(
        old_path=f"/learn/mathematics/questions/{SLUG}",
        new_path=f"/learn/computer-science/questions/{SLUG}",
        source="editor",
    )
    update_canonical()
    assert canonical_of()["mathematics"] is None


def test_an_indexable_copy_wins_over_a_noindex_one(cross_post):
    copies = cross_post("computer-science", "mathematics")
    copies["mathematics"].no_index = True
    copies["mathematics"].save()
    assert canonical_of() == {"mathematics": "computer-science", "computer-science": None}


def test_a_listed_subjects_copy_wins_over_an_unlisted_ones_even_when_named(cross_post):
    cross_post("others", "computer-science")
    Redirect.objects.create(
        old_path=f"/learn/computer-science/questions/{SLUG}",
        new_path=f"/learn/others/questions/{SLUG}",
        source="moved-file",
    )
    update_canonical()
    assert canonical_of() == {"others": "computer-science", "computer-science": None}


def test_a_draft_copy_gives_way_when_saved(cross_post):
    copies = cross_post("computer-science", "mathematics")
    copies["mathematics"].status = Article.Status.DRAFT
    copies["mathematics"].save()
    assert canonical_of() == {"mathematics": "computer-science", "computer-science": None}


def test_three_copies_name_the_same_canonical_copy(cross_post):
    cross_post("others", "computer-science", "mathematics")
    assert canonical_of() == {
        "mathematics": None,
        "computer-science": "mathematics",
        "others": "mathematics",
    }


def test_same_slug_with_another_source_id_is_a_different_article(cross_post):
    cross_post("mathematics")
    cross_post("computer-science", source_id=778)
    assert canonical_of() == {"mathematics": None, "computer-science": None}


def test_a_move_links_copies_whose_source_ids_differ(cross_post):
    cross_post("mathematics")
    cross_post("computer-science", source_id=778)
    Redirect.objects.create(
        old_path=f"/learn/mathematics/questions/{SLUG}",
        new_path=f"/learn/computer-science/questions/{SLUG}",
        source="moved-file",
    )
    update_canonical()
    assert canonical_of() == {"mathematics": "computer-science", "computer-science": None}


def test_a_copy_that_changes_slug_leaves_the_group(cross_post):
    copies = cross_post("computer-science", "mathematics")
    copy = copies["computer-science"]
    copy.slug = "what-is-a-hash-map"
    copy.save()
    copy.refresh_from_db()
    assert copy.canonical_id is None
    assert canonical_of() == {"mathematics": None}


def test_recomputing_changes_nothing_the_second_time(cross_post):
    cross_post("computer-science", "mathematics")
    assert update_canonical().changed == 0


def test_recomputing_costs_the_same_queries_whatever_the_number_of_groups(cross_post):
    cross_post("computer-science", "mathematics")
    with CaptureQueriesContext(connection) as one_group:
        update_canonical()
    for n in range(5):
        cross_post("computer-science", "mathematics", slug=f"question-{n}", source_id=900 + n)
    with CaptureQueriesContext(connection) as six_groups:
        report = update_canonical()
    assert report.groups == 6
    assert len(six_groups) == len(one_group)


def test_only_canonical_indexable_articles_of_listed_subjects_are_offered(cross_post):
    cross_post("computer-science", "mathematics")
    offered = set(Article.objects.indexable().values_list("subject__slug", "slug"))
    assert ("mathematics", SLUG) in offered
    assert ("computer-science", SLUG) not in offered
    assert ("education-studies", "what-was-the-old-curriculum-draft") not in offered  # noindex
    assert not any(subject == "others" for subject, _ in offered)  # unlisted
    assert len(offered) == 10 + 1


@pytest.mark.django_db(transaction=True)
def test_deleting_the_canonical_copy_rechooses_one_among_the_rest(write_article):
    paths = [
        write_article(slug="shared", subject=subject, subject_name=name, id=7)
        for subject, name in (
            ("mathematics", "Mathematics"),
            ("physics", "Physics"),
            ("biology", "Biology"),
        )
    ]
    import_paths(paths, workers=1)
    canonical = Article.objects.get(canonical__isnull=True)
    canonical.delete()
    remaining = Article.objects.all()
    assert remaining.count() == 2
    assert remaining.filter(canonical__isnull=True).count() == 1
