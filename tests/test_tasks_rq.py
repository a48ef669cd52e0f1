"""Background jobs on a Redis queue (TASKS_BACKEND=rq): an uploaded import queued while no
worker runs, then its dry run, its import and the pages built after it, each run by the real
``rqworker`` command, in processes of their own, against one SQLite file.

Skipped where django-tasks-rq is not installed (requirements-dev.txt has it) or no Redis
answers at REDIS_TEST_URL (default: database 13 of a local Redis, emptied here).
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import redis

from tests.conftest import FIXTURES, PROJECT_ROOT

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/13")


def _redis():
    if importlib.util.find_spec("django_tasks_rq") is None:
        return None
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        return None
    return client


REDIS = _redis()
pytestmark = pytest.mark.skipif(REDIS is None, reason="needs django-tasks-rq and a Redis")

ENQUEUE = """
from pathlib import Path
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from articles import tasks
from articles.importing import uploads
user = User.objects.create_superuser("operator", "operator@example.com", "pw-for-tests")
paths = sorted(Path({folder!r}).rglob("*.md"))
files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in paths]
article_import = uploads.create(files, user)
uploads.INLINE_BYTES = 0  # as a large upload: on the queue
tasks.start(article_import, "check")
print(article_import.pk, len(paths), article_import.task_id)
"""

STATE = """
import json
from articles.models import Article, ArticleImport
from articles.tasks import prerender_site
article_import = ArticleImport.objects.get(pk={pk})
job = prerender_site.get_backend().get_result({job!r})
print(json.dumps({{
    "status": article_import.status,
    "check": article_import.check_report,
    "apply": article_import.apply_report,
    "articles": Article.objects.count(),
    "task": job.status,
    "returned": job.return_value if job.status == "SUCCESSFUL" else None,
}}))
"""

CONFIRM = """
from django.contrib.auth.models import User
from articles import tasks
from articles.importing import uploads
from articles.models import ArticleImport
uploads.INLINE_BYTES = 0
article_import = ArticleImport.objects.get(pk={pk})
print(tasks.confirm(article_import, User.objects.get()), article_import.task_id)
"""


@pytest.fixture
def rq_env(tmp_path):
    REDIS.flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "TASKS_BACKEND": "rq",
        "REDIS_URL": REDIS_TEST_URL,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DEBUG": "1",
    }
    manage(env, "migrate", "-v0")
    manage(env, "import_articles", str(FIXTURES / "learn"), "--subjects",
           str(FIXTURES / "subjects.json"), "-v0")  # fmt: skip
    yield env
    REDIS.flushdb()


def manage(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def shell(env, code):
    return manage(env, "shell", "-c", code).strip().splitlines()[-1]


def work(env):
    """Run the queue's jobs with the real worker, until it is empty."""
    manage(env, "rqworker", "default", "--burst")


def test_an_upload_runs_on_the_redis_queue(rq_env, tmp_path):
    folder = tmp_path / "incoming" / "mathematics"
    folder.mkdir(parents=True)
    for source in sorted((FIXTURES / "learn" / "mathematics").glob("*.md"))[:2]:
        text = source.read_text(encoding="utf-8").replace(source.stem, f"{source.stem}-queued")
        (folder / f"{source.stem}-queued.md").write_text(text, encoding="utf-8")
    pk, count, job = shell(rq_env, ENQUEUE.format(folder=str(folder))).split()
    assert count == "2" and job

    # Queued with no worker running: the job is a Redis entry, not memory of a process.
    state = json.loads(shell(rq_env, STATE.format(pk=pk, job=job)))
    assert state["status"] == "checking" and state["task"] == "READY"
    articles_before = state["articles"]

    work(rq_env)
    state = json.loads(shell(rq_env, STATE.format(pk=pk, job=job)))
    assert state["status"] == "checked", state
    assert state["check"]["created"] == 2 and state["task"] == "SUCCESSFUL"
    assert state["articles"] == articles_before  # a dry run writes nothing

    confirmed, job = shell(rq_env, CONFIRM.format(pk=pk)).split()
    assert confirmed == "True" and job
    work(rq_env)  # the import, then the pages it queued
    state = json.loads(shell(rq_env, STATE.format(pk=pk, job=job)))
    assert state["status"] == "applied", state
    assert state["apply"]["created"] == 2 and state["task"] == "SUCCESSFUL"
    assert state["articles"] == articles_before + 2
    # Three jobs finished on the queue: the dry run, the import and the pages built after it.
    assert REDIS.zcard("rq:finished:default") == 3
    assert not REDIS.llen("rq:queue:default")
