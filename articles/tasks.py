"""Background jobs, through Django's Tasks API (the django-tasks backport): each is a thin
entry point that runs work owned elsewhere, by its row's id. Enqueued with ``.enqueue()``,
run by a worker (``manage.py db_worker``); never threads in the web process.
"""

from django_tasks import task

from articles.importing import uploads


@task()
def check_upload(import_id):
    """The dry run of an uploaded import (ArticleImport ``import_id``); returns its summary."""
    return uploads.run(import_id, "check", raise_errors=True, snapshot=True)


@task()
def apply_upload(import_id):
    """The confirmed import of an upload (ArticleImport ``import_id``); returns its summary."""
    return uploads.run(import_id, "apply", raise_errors=True)
