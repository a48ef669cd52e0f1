"""Background jobs, through Django's Tasks API (the django-tasks backport), and the steps
that start them. Each job is a thin entry point that runs work owned elsewhere, by its
row's id; it is enqueued here and run by a worker (``manage.py db_worker``), never by
threads in the web process.
"""

from django.conf import settings
from django_tasks import task

from articles import images, prerender
from articles.importing import uploads
from articles.models import ArticleImport, Image

Status = ArticleImport.Status


@task()
def check_upload(import_id):
    """The dry run of an uploaded import (ArticleImport ``import_id``); returns its summary."""
    return uploads.run(import_id, "check", raise_errors=True, snapshot=True)


@task()
def apply_upload(import_id):
    """The confirmed import of an upload (ArticleImport ``import_id``); returns its summary.
    When it created or updated articles, the site's pages are then built ahead
    (prerender_site), as an operator's ``prerender_pages`` does after an import."""
    summary = uploads.run(import_id, "apply", raise_errors=True)
    report = ArticleImport.objects.get(pk=import_id).apply_report or {}
    if settings.PAGE_CACHE_SECONDS > 0 and (report.get("created") or report.get("updated")):
        prerender_site.enqueue()
    return summary


@task()
def prerender_site():
    """Build every reader's page not cached yet into the page cache (articles.prerender);
    returns the pages looked at and built."""
    done, built = prerender.build_all(prerender.site_paths())
    return {"pages": done, "built": built}


@task()
def make_image_renditions(image_id):
    """Store the renditions of Image ``image_id`` (articles.images.store_renditions) and mark
    them ready; returns how many were stored. Nothing to do when the image was deleted
    meanwhile, or when a save that needed them made them first (ensure_renditions)."""
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return 0
    stored = images.store_renditions(image.file.name)
    Image.objects.filter(pk=image_id).update(renditions_ready=True)
    return stored


def start(article_import, step):
    """Run ``step`` ("check", the dry run, or "apply", the import) of ``article_import``:
    inline when the upload is small, else as a background job whose id is kept on the row.
    """
    if uploads.runs_inline(article_import):
        uploads.run(article_import.pk, step, workers=1)
        return
    _enqueue(article_import, step)


def _enqueue(article_import, step):
    job = {"check": check_upload, "apply": apply_upload}[step]
    result = job.enqueue(article_import.pk)
    ArticleImport.objects.filter(pk=article_import.pk).update(task_id=result.id)
    article_import.task_id = result.id


def run_again(article_import):
    """Queue the running step of ``article_import`` again, after its worker stopped
    mid-way (killed, say). Safe whichever step it is: a dry run writes nothing, and an
    import run again completes the batches the stopped one did not commit. Returns False
    when no step is running."""
    if not article_import.running:
        return False
    step = "check" if article_import.status == Status.CHECKING else "apply"
    uploads.forget_progress(article_import.pk)
    _enqueue(article_import, step)
    return True


def confirm(article_import, user):
    """Apply a checked upload. Returns False when it is no longer waiting (confirmed or
    cancelled meanwhile, by another tab say). The import plans every article again under
    its row locks, so an editor's save made since the dry run is kept and reported as a
    conflict, never overwritten."""
    claimed = ArticleImport.objects.filter(pk=article_import.pk, status=Status.CHECKED).update(
        status=Status.APPLYING, applied_by=user, task_id=""
    )
    if claimed:
        start(article_import, "apply")
    return bool(claimed)
