"""Imports in the admin: upload .md files or a .zip, read the dry run's report, confirm or
cancel; large uploads run as background jobs on the task queue (the database backend, run
here by the real db_worker command in this process)."""

import importlib
import io
import shutil
import zipfile
from datetime import timedelta
from types import SimpleNamespace

import PIL.Image
import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from articles import images, tasks
from articles.admin import imports
from articles.importing import files as importing_files
from articles.importing import uploads
from articles.models import Article, ArticleImport, Image
from articles.rendering.images import parse_name
from tests.conftest import FIXTURES
from tests.test_crafted_input import BOMB_BYTES, _zip_bomb

BAD_INPUT = FIXTURES.parent / "tests" / "bad_input"
CHAIN_RULE_FILE = (
    FIXTURES
    / "learn"
    / "mathematics"
    / "how-do-you-differentiate-a-composite-function-with-the-chain-rule.md"
)
ADD = "admin:articles_articleimport_add"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def editor(client):
    user = User.objects.create_user("edna", password="a-long-test-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return user


def zipped(name, members):
    """A .zip upload named ``name`` of ``{member name: Path or bytes}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            data = content if isinstance(content, bytes) else content.read_bytes()
            archive.writestr(member, data)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def upload(client, *files):
    return client.post(reverse(ADD), {"files": list(files)})


def report_page(client, article_import):
    response = client.get(article_import.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def confirm(client, article_import):
    return client.post(
        reverse("admin:articles_articleimport_confirm", args=[article_import.pk]), follow=True
    )


def two_articles(write_article):
    return {
        "learn/physics/what-is-inertia.md": write_article(
            "what-is-inertia", "physics", "Physics", question="What is inertia?"
        ),
        "learn/physics/what-is-a-newton.md": write_article(
            "what-is-a-newton", "physics", "Physics", question="What is a newton?", id=2
        ),
    }


def test_a_zip_is_dry_run_then_imported_on_confirm(client, editor, write_article):
    response = upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == article_import.get_absolute_url()
    assert article_import.status == ArticleImport.Status.CHECKED
    assert article_import.check_report["created"] == 2
    assert not Article.objects.exists()  # the dry run wrote nothing
    page = report_page(client, article_import)
    assert "Dry run: what the import would do" in page
    assert '<td id="count-created">2</td>' in page
    assert "<code>/learn/physics/questions/what-is-inertia</code>" in page
    assert "Confirm: import these files" in page

    page = confirm(client, article_import).content.decode()
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.APPLIED
    assert article_import.applied_by == editor
    assert "What the import did" in page
    assert '<a href="/learn/physics/questions/what-is-inertia">' in page
    assert sorted(Article.objects.values_list("slug", flat=True)) == [
        "what-is-a-newton",
        "what-is-inertia",
    ]
    # The files are gone from storage; the reports stay.
    assert all(item["stored"] == "" for item in article_import.files)
    assert article_import.check_report["created"] == article_import.apply_report["created"] == 2


def test_several_markdown_files_in_one_upload(client, editor, write_article):
    files = two_articles(write_article).values()
    upload(client, *(SimpleUploadedFile(path.name, path.read_bytes()) for path in files))
    article_import = ArticleImport.objects.get()
    assert [item["name"] for item in article_import.files] == [
        "what-is-inertia.md",
        "what-is-a-newton.md",
    ]
    assert article_import.check_report["created"] == 2


def test_a_bad_file_in_the_zip_is_reported_with_file_and_line_and_the_rest_imports(
    client, editor, write_article
):
    members = {
        **two_articles(write_article),
        "learn/maths/date-february-30.md": BAD_INPUT / "date-february-30.md",
    }
    upload(client, zipped("learn.zip", members))
    article_import = ArticleImport.objects.get()
    [error] = article_import.check_report["errors"]
    assert error["file"] == "learn.zip/learn/maths/date-february-30.md"
    assert error["line"] == 4
    assert "'date'" in error["message"]
    page = report_page(client, article_import)
    assert "<code>learn.zip/learn/maths/date-february-30.md</code></td><td>4</td>" in page
    assert str(uploads.default_storage.location) not in page  # no server paths

    confirm(client, article_import)
    article_import.refresh_from_db()
    assert article_import.apply_report["created"] == 2
    assert article_import.apply_report["failed"] == 1
    assert Article.objects.count() == 2


def test_an_archive_bomb_member_is_refused_from_the_directory_and_the_rest_imports(
    client, editor, tmp_path
):
    good = BAD_INPUT / "date-quoted.md"
    bomb = _zip_bomb(tmp_path / "bomb.zip", good)
    upload(client, SimpleUploadedFile("bomb.zip", bomb.read_bytes()))
    article_import = ArticleImport.objects.get()
    [error] = article_import.check_report["errors"]
    assert error["file"] == "bomb.zip/learn/bomb.md"
    assert error["message"] == f"the file is {BOMB_BYTES} bytes; the limit is 8388608"
    assert article_import.check_report["created"] == 1


def test_an_archive_over_the_archive_limits_is_refused_at_upload(
    client, editor, write_article, monkeypatch
):
    monkeypatch.setattr(importing_files, "MAX_ARCHIVE_BYTES", 100)
    response = upload(client, zipped("physics.zip", two_articles(write_article)))
    assert response.status_code == 400
    assert "physics.zip: the archive&#x27;s files add up to more than 100 bytes" in (
        response.content.decode()
    )
    assert not ArticleImport.objects.exists()


def test_an_upload_past_the_limit_is_refused_from_its_content_length(client, editor, settings):
    settings.IMPORT_UPLOAD_MAX_BYTES = 1000
    response = upload(client, SimpleUploadedFile("big.md", b"x" * 2000))
    assert response.status_code == 413
    assert "the limit is 1,000" in response.content.decode()
    assert not ArticleImport.objects.exists()


def test_a_markdown_file_past_the_file_limit_is_refused_while_it_streams(
    client, editor, monkeypatch
):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 100)
    response = upload(client, SimpleUploadedFile("long.md", b"x" * 200))
    assert response.status_code == 400
    assert "long.md: larger than 100 bytes" in response.content.decode()
    assert not ArticleImport.objects.exists()


def test_other_kinds_of_files_are_refused(client, editor):
    response = upload(client, SimpleUploadedFile("notes.txt", b"hello"))
    assert response.status_code == 400
    assert "notes.txt: not a .md file or a .zip archive" in response.content.decode()


def test_an_editor_without_the_permission_gets_403(client, write_article):
    user = User.objects.create_user("ed", password="a-long-test-password", is_staff=True)
    group = Group.objects.get(name="Editors")
    user.user_permissions.add(*group.permissions.exclude(codename="import_articles"))
    client.force_login(user)
    article_import = ArticleImport.objects.create(status=ArticleImport.Status.CHECKED)
    assert client.get(reverse(ADD)).status_code == 403
    assert upload(client, SimpleUploadedFile("a.md", b"---")).status_code == 403
    assert client.get(article_import.get_absolute_url()).status_code == 403
    assert confirm(client, article_import).status_code == 403
    assert client.get(reverse("admin:articles_articleimport_changelist")).status_code == 403
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.CHECKED
    # The permission is the one the migration gives the Editors group.
    user.user_permissions.add(Permission.objects.get(codename="import_articles"))
    user = User.objects.get(pk=user.pk)
    client.force_login(user)
    assert client.get(reverse(ADD)).status_code == 200


def test_an_editors_save_between_the_dry_run_and_the_confirm_is_kept(client, editor, sample_site):
    article = Article.objects.get(slug=CHAIN_RULE_FILE.stem)
    changed = CHAIN_RULE_FILE.read_text().replace("chain rule", "chain rule (from the file)", 1)
    upload(client, SimpleUploadedFile(CHAIN_RULE_FILE.name, changed.encode()))
    article_import = ArticleImport.objects.get()
    assert article_import.check_report["updated"] == 1
    assert article_import.check_report["conflicts"] == []

    # An editor who may publish saves the article through the admin before the import is
    # confirmed (another editor's save would wait as a draft: the import leaves it stale).
    editor.groups.add(Group.objects.get(name="Publishers"))
    change = client.get(reverse("admin:articles_article_change", args=[article.pk]))
    form = change.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "answer": "The editor's answer.",
            "date": article.date.isoformat(),
            "related_links-TOTAL_FORMS": "0",
            "related_links-INITIAL_FORMS": "0",
            "_save": "Save",
        }
    )
    saved = client.post(reverse("admin:articles_article_change", args=[article.pk]), data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert Article.objects.get(pk=article.pk).answer == "The editor's answer."

    page = confirm(client, article_import).content.decode()
    article_import.refresh_from_db()
    assert article_import.apply_report["updated"] == 0
    assert article_import.apply_report["conflict_count"] == 1
    assert Article.objects.get(pk=article.pk).answer == "The editor's answer."
    assert "Changed by an editor since the dry run" in page
    assert f"{CHAIN_RULE_FILE.name}: {article.get_absolute_url()} was changed in the admin" in page
    assert "kept the editor&#x27;s version" in page
    assert "--force" not in page  # the command's advice; the page has no such choice


def test_cancel_deletes_the_files_and_writes_nothing(client, editor, write_article):
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    stored = uploads.default_storage.path(article_import.files[0]["stored"])
    response = client.post(reverse("admin:articles_articleimport_cancel", args=[article_import.pk]))
    assert response.status_code == 302
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.CANCELLED
    assert not Article.objects.exists()
    assert not uploads.default_storage.exists(stored)
    # A cancelled import cannot be confirmed any more.
    page = confirm(client, article_import).content.decode()
    assert "no longer waiting for confirmation" in page
    assert not Article.objects.exists()


def test_a_large_upload_runs_on_the_queue_with_its_progress(
    client, editor, write_article, worker, monkeypatch
):
    monkeypatch.setattr(uploads, "INLINE_BYTES", 0)
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    assert article_import.status == ArticleImport.Status.CHECKING
    job = DBTaskResult.objects.get(pk=article_import.task_id)
    assert job.task_path == "articles.tasks.check_upload"
    page = report_page(client, article_import)
    assert "Waiting for a worker" in page
    assert '<meta http-equiv="refresh" content="2">' in page

    # What the page shows while the job runs: the files done, of all.
    uploads.Progress(article_import.pk, "check")(1, 2)
    assert "1 of 2 files (50%)" in report_page(client, article_import)

    worker()
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.CHECKED
    assert article_import.check_report["created"] == 2
    assert DBTaskResult.objects.get(pk=job.pk).status == "SUCCESSFUL"
    assert not Article.objects.exists()

    confirm(client, article_import)
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.APPLYING
    assert not Article.objects.exists()
    worker()
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.APPLIED
    assert Article.objects.count() == 2
    assert "What the import did" in report_page(client, article_import)
    # The worker then built the new articles' pages: their first reader gets a cache hit.
    built = DBTaskResult.objects.get(task_path="articles.tasks.prerender_site")
    assert built.status == "SUCCESSFUL"
    for article in Article.objects.select_related("subject"):
        assert Client().get(article.get_absolute_url())["X-Page-Cache"] == "hit"


def test_a_failed_job_says_why(client, editor, write_article, worker, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(uploads, "INLINE_BYTES", 0)
    monkeypatch.setattr(uploads, "import_paths", broken)
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    worker()
    job = DBTaskResult.objects.get(pk=article_import.task_id)
    assert job.status == "FAILED"
    assert "RuntimeError: the disk is full" in job.traceback
    page = report_page(client, article_import)
    assert "It failed: RuntimeError: the disk is full" in page
    assert "Delete the uploaded files" in page
    # An administrator reads the job's traceback among the admin's task results.
    User.objects.create_superuser("root", password="a-long-test-password")
    client.force_login(User.objects.get(username="root"))
    result = client.get(
        reverse("admin:django_tasks_database_dbtaskresult_change", args=[job.pk])
    ).content.decode()
    assert "Traceback (most recent call last)" in result
    assert "RuntimeError: the disk is full" in result


def test_a_job_that_failed_before_marking_its_import_says_why(
    client, editor, write_article, worker, monkeypatch
):
    def crashed(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(uploads, "INLINE_BYTES", 0)
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    monkeypatch.setattr(uploads, "run", crashed)
    worker()
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.CHECKING  # the row never heard
    page = report_page(client, article_import)
    assert "It failed: MemoryError: out of memory" in page
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.FAILED


def test_a_queued_job_outlives_the_worker_that_was_not_there(
    client, editor, write_article, worker, monkeypatch
):
    # Enqueued while no worker runs: a row, picked up by whichever worker starts next.
    monkeypatch.setattr(uploads, "INLINE_BYTES", 0)
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    assert DBTaskResult.objects.get(pk=article_import.task_id).status == "READY"
    worker()
    assert DBTaskResult.objects.get(pk=article_import.task_id).status == "SUCCESSFUL"


def test_a_job_whose_worker_was_killed_can_be_run_again(
    client, editor, write_article, worker, monkeypatch
):
    monkeypatch.setattr(uploads, "INLINE_BYTES", 0)
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    # A worker claimed the job an hour ago, then was killed: the row says RUNNING forever.
    job = DBTaskResult.objects.get(pk=article_import.task_id)
    job.claim("killed-worker")
    DBTaskResult.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(hours=1))
    page = report_page(client, article_import)
    assert "the worker running it has probably stopped" in page

    response = client.post(
        reverse("admin:articles_articleimport_run_again", args=[article_import.pk])
    )
    assert response.status_code == 302
    article_import.refresh_from_db()
    assert article_import.task_id != str(job.pk)
    worker()
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.CHECKED
    assert article_import.check_report["created"] == 2


def test_a_job_that_is_running_is_not_offered_again(client, editor, write_article, monkeypatch):
    monkeypatch.setattr(uploads, "INLINE_BYTES", 0)
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    DBTaskResult.objects.get(pk=article_import.task_id).claim("a-live-worker")
    uploads.Progress(article_import.pk, "check")(1, 2)
    page = report_page(client, article_import)
    assert "1 of 2 files (50%)" in page
    assert "probably stopped" not in page


def test_the_permission_migration_runs_twice_and_reverses():
    migration = importlib.import_module("articles.migrations.0008_article_import")
    schema_editor = SimpleNamespace(connection=connection)
    migration.grant_import_permission(apps, schema_editor)
    migration.grant_import_permission(apps, schema_editor)
    editors = Group.objects.get(name="Editors")
    assert editors.permissions.filter(codename="import_articles").count() == 1
    assert str(Permission.objects.get(codename="import_articles").name) == "Can import articles"
    migration.revoke_import_permission(apps, schema_editor)
    assert not Permission.objects.filter(codename="import_articles").exists()


def test_the_content_length_is_checked_before_the_body_is_read(client, editor, settings):
    settings.IMPORT_UPLOAD_MAX_BYTES = 1000
    # The body is short of what the header declares: reading it would fail the request.
    response = client.post(
        reverse(ADD), {"files": SimpleUploadedFile("a.md", b"---")}, CONTENT_LENGTH="5000"
    )
    assert response.status_code == 413
    assert "The upload is 5,000 bytes; the limit is 1,000" in response.content.decode()


def test_an_upload_without_the_csrf_token_is_refused(editor, write_article):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    response = strict.post(reverse(ADD), {"files": SimpleUploadedFile("a.md", b"---")})
    assert response.status_code == 403
    assert not ArticleImport.objects.exists()


def test_a_step_left_running_by_a_killed_request_can_be_run_again(
    client, editor, write_article, worker
):
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    # The request that ran the inline dry run died: the row says "checking", no job.
    ArticleImport.objects.filter(pk=article_import.pk).update(
        status=ArticleImport.Status.CHECKING, check_report=None
    )
    # Made an hour ago, but changed just now: a step under way in a request.
    ArticleImport.objects.filter(pk=article_import.pk).update(
        created=timezone.now() - timedelta(hours=1)
    )
    assert "probably stopped" not in report_page(client, article_import)
    ArticleImport.objects.filter(pk=article_import.pk).update(
        updated=timezone.now() - timedelta(hours=1)
    )
    assert "probably stopped" in report_page(client, article_import)
    client.post(reverse("admin:articles_articleimport_run_again", args=[article_import.pk]))
    worker()
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.CHECKED


def test_a_second_confirm_does_nothing(client, editor, write_article):
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    assert tasks.confirm(article_import, editor)
    assert not tasks.confirm(article_import, editor)  # another tab, a double click
    article_import.refresh_from_db()
    assert article_import.apply_report["created"] == 2


def test_the_list_of_imports_and_the_dashboard_link(client, editor, write_article):
    upload(client, zipped("physics.zip", two_articles(write_article)))
    article_import = ArticleImport.objects.get()
    listing = client.get(reverse("admin:articles_articleimport_changelist")).content.decode()
    assert article_import.get_absolute_url() in listing
    assert "Dry run, nothing written. Would have: 2 files: 2 created" in listing
    dashboard = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:articles_articleimport_changelist") in dashboard
    assert reverse(ADD) in dashboard


def test_more_files_than_one_request_may_carry_are_refused_with_advice(client, editor, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [SimpleUploadedFile(f"a{number}.md", b"---") for number in range(4)]
    response = upload(client, *files)
    assert response.status_code == 400
    assert "At most 3 files in one upload: put more in a .zip." in response.content.decode()
    assert not ArticleImport.objects.exists()


def test_a_zip_with_an_uploads_folder_brings_its_images_into_the_library(
    client, editor, write_article, settings
):
    picture = io.BytesIO()
    PIL.Image.linear_gradient("L").resize((700, 500)).save(picture, "PNG")
    checked = images.check_upload(SimpleUploadedFile("forces.png", picture.getvalue()))
    name = images.store(checked)
    images.store_renditions(name)
    stored = {
        stored_name: (settings.MEDIA_ROOT / stored_name).read_bytes()
        for stored_name in (name, parse_name(name).rendition_name(480))
    }
    shutil.rmtree(settings.MEDIA_ROOT / "images")  # another site's export
    members = {
        "learn/physics/what-is-inertia.md": write_article(
            "what-is-inertia",
            "physics",
            "Physics",
            question="What is inertia?",
            answer=f"![Forces on a block](/media/{name})\\n\\nIt resists changes.",
        ),
        **{f"uploads/{stored_name}": data for stored_name, data in stored.items()},
    }
    upload(client, zipped("physics.zip", members))
    article_import = ArticleImport.objects.get()
    assert article_import.check_report["created"] == 1, article_import.check_report
    assert not Image.objects.exists()  # the dry run wrote no row
    assert '<td id="count-images">1</td>' in report_page(client, article_import)

    confirm(client, article_import)
    image = Image.objects.get()
    assert (image.file.name, image.alt_text) == (name, "Forces on a block")
    article = Article.objects.get()
    assert 'srcset="' in article.answer_html and "480w" in article.answer_html
