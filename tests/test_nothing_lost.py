"""Nothing an editor or an operator does loses work: every write path checks the version
it started from and refuses, with a message, a change made over a newer one.

Each test plays two people: two tabs of the admin, an editor and an import, a bulk action
and a revert.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import F
from django.db.models.signals import post_save
from django.test import Client
from django.urls import reverse
from reversion.models import Version

from articles import changes, search
from articles.admin import history
from articles.admin.articles import ArticleAdmin
from articles.admin.forms import ArticleAdminForm
from articles.exporting import front_matter
from articles.importing import import_paths, write
from articles.models import Article, RelatedLink, Subject
from tests.conftest import FIXTURES, PROJECT_ROOT
from tests.test_admin import form_data, run_action
from tests.test_backup import manage
from tests.test_concurrency import FormFields

pytestmark = pytest.mark.django_db

CHAIN_RULE = "how-do-you-differentiate-a-composite-function-with-the-chain-rule"
CHAIN_RULE_FILE = FIXTURES / "learn" / "mathematics" / f"{CHAIN_RULE}.md"


def make_editor(name):
    # Editors who may publish: their saves of live articles are written at once, which is
    # what these tests race. Without Publishers, a save of a live article is a draft (its
    # own version step, refused alike: tests/test_admin_review.py).
    user = User.objects.create_user(name, password="pw-for-tests", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=["Editors", "Publishers"]))
    return user


@pytest.fixture
def two_tabs(client, sample_site):
    """Two editors (Ada and Bob), each with a browser of their own."""
    ada, bob = Client(), Client()
    ada.force_login(make_editor("ada"))
    bob.force_login(make_editor("bob"))
    return ada, bob


def article(slug=CHAIN_RULE):
    return Article.objects.select_related("subject").get(slug=slug)


def change_url(obj):
    return reverse("admin:articles_article_change", args=[obj.pk])


def open_form(browser, obj):
    """What a tab holds after opening the change form: the URL and the data a browser would
    post back (read from the page's HTML, so only what the page really holds)."""
    url = change_url(obj)
    return url, browser_form(browser.get(url))


def browser_form(response):
    fields = FormFields(response.content.decode(), "article_form").fields
    assert "base_version" in dict(fields)  # the page carries the version it shows
    return {**dict(fields), "_save": "Save"}


def errors_of(response):
    return " ".join(
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m))
        for m in re.findall(
            r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
        )
    )


# 1. Two editors, one article ------------------------------------------------------------


def test_the_second_of_two_tabs_is_refused_and_told_who_changed_what(two_tabs):
    ada, bob = two_tabs
    obj = article()
    url, ada_form = open_form(ada, obj)
    _, bob_form = open_form(bob, obj)

    ada_form["seo_keywords"] = "chain rule, composite function, derivative"
    assert ada.post(url, ada_form).status_code == 302
    bob_form["question"] = obj.question.replace("composite", "composite (nested)")
    refused = bob.post(url, bob_form)

    assert refused.status_code == 200  # the form again, with the editor's input
    message = errors_of(refused)
    assert "ada" in message and "SEO keywords" in message, message
    assert "nothing was saved" in message
    # The difference, to read before saving again: the keywords Ada saved, Bob's question.
    assert "SEO keywords: now “chain rule, composite function, derivative”" in message
    assert "yours “How do you differentiate a composite (nested) function" in message
    assert 'value="How do you differentiate a composite (nested) function' in (
        refused.content.decode()
    )
    stored = article()
    assert stored.seo_keywords == "chain rule, composite function, derivative"
    assert "(nested)" not in stored.question


def someone_else_saves(obj):
    """Another writer's change to ``obj``, as a committed save leaves it: a new version."""
    Article.objects.filter(pk=obj.pk).update(version=F("version") + 1, author="Other")


def test_a_change_landing_between_the_check_and_the_save_is_refused_too(two_tabs, monkeypatch):
    ada, _ = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    original_clean = ArticleAdminForm.clean
    calls = []

    def clean_then_someone_saves(self):
        # One test transaction holds both writers: the refused save's rollback undoes the
        # other writer's change too, so it is made again before the second check, as a
        # committed change would be seen.
        calls.append(1)
        if len(calls) == 1:
            cleaned = original_clean(self)
            someone_else_saves(obj)  # right after this form's version check
            return cleaned
        someone_else_saves(obj)
        return original_clean(self)

    monkeypatch.setattr(ArticleAdminForm, "clean", clean_then_someone_saves)
    form["author"] = "Ada"
    refused = ada.post(url, form)
    assert refused.status_code == 200
    assert "nothing was saved" in errors_of(refused)
    assert article().author == "Other"


def test_changes_landing_between_every_check_and_save_end_in_a_message(two_tabs, monkeypatch):
    # Each time the save is checked again, another change slips in right after the check:
    # the editor is told, never shown a server error, and nothing of the form is written.
    # (One test transaction holds both writers, so each refusal's rollback undoes the
    # other writer's change too; it is made again after every check.)
    ada, _ = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    original_clean = ArticleAdminForm.clean
    checks = []

    def clean_then_someone_saves(self):
        checks.append(1)
        cleaned = original_clean(self)  # the check passes...
        someone_else_saves(obj)
        return cleaned  # ...and the save finds a newer version

    monkeypatch.setattr(ArticleAdminForm, "clean", clean_then_someone_saves)
    form["author"] = "Ada"
    response = ada.post(url, form, follow=True)
    assert response.status_code == 200
    assert len(checks) == ArticleAdmin.STALE_ATTEMPTS
    assert "nothing was saved" in response.content.decode()
    assert article().author != "Ada"


def test_saving_again_after_the_refusal_applies_the_editors_input(two_tabs):
    ada, bob = two_tabs
    obj = article()
    url, ada_form = open_form(ada, obj)
    _, bob_form = open_form(bob, obj)
    ada_form["seo_keywords"] = "chain rule"
    ada.post(url, ada_form)
    bob_form["question"] = "How do you apply the chain rule?"
    refused = bob.post(url, bob_form)
    # The refused form now carries the version it was refused at: Bob has seen the
    # difference, and a second save is his decision.
    again = {**bob_form, "base_version": refused.context["adminform"].form["base_version"].value()}
    assert bob.post(url, again).status_code == 302
    stored = article()
    assert stored.question == "How do you apply the chain rule?"
    assert stored.seo_keywords == bob_form["seo_keywords"]  # as the message warned


# 2. A stale form over an import -----------------------------------------------------------


def test_a_form_opened_before_an_import_is_refused_after_it(two_tabs, tmp_path):
    ada, _ = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    corrected = tmp_path / "mathematics" / CHAIN_RULE_FILE.name
    corrected.parent.mkdir()
    corrected.write_text(
        CHAIN_RULE_FILE.read_text().replace("chain rule", "chain rule (corrected)", 1)
    )
    assert import_paths([tmp_path]).updated == 1
    imported_answer = article().answer

    form["author"] = "Ada"
    refused = ada.post(url, form)
    assert refused.status_code == 200
    assert "an import" in errors_of(refused)
    assert article().answer == imported_answer


def test_an_editors_save_over_an_imported_article_makes_the_next_import_a_conflict(
    two_tabs, tmp_path
):
    ada, _ = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    form["author"] = "Ada"
    assert ada.post(url, form).status_code == 302
    # The same file as before: its hash is known, yet the editor's change is newer.
    copy = tmp_path / "mathematics" / CHAIN_RULE_FILE.name
    copy.parent.mkdir()
    copy.write_bytes(CHAIN_RULE_FILE.read_bytes())
    report = import_paths([tmp_path])
    assert (report.unchanged, len(report.conflicts)) == (0, 1), report
    assert article().author == "Ada"
    forced = import_paths([tmp_path], force=True)
    assert forced.updated == 1
    assert article().author != "Ada"


# 3. A revert touches one article ----------------------------------------------------------


def test_reverting_one_article_of_a_bulk_action_leaves_the_others(two_tabs):
    ada, _ = two_tabs
    p, q = article(), article("how-do-you-expand-a-perfect-square")
    assert run_action(ada, "set_no_index", [p, q]).status_code == 302
    # Q changes after the bulk action: a new question.
    url, form = open_form(ada, q)
    form["question"] = "How do you expand (a + b)^2?"
    assert ada.post(url, form).status_code == 302
    q_links = list(RelatedLink.objects.filter(article=q).values_list("title", flat=True))

    baseline = Version.objects.get_for_object(p).order_by("pk").first()
    revert_url = reverse("admin:articles_article_revision", args=[p.pk, baseline.pk])
    page = ada.get(revert_url)
    assert ada.post(revert_url, form_data(page)).status_code == 302

    assert article().no_index is False
    q = article("how-do-you-expand-a-perfect-square")
    assert q.question == "How do you expand (a + b)^2?"
    assert q.no_index is True
    assert list(RelatedLink.objects.filter(article=q).values_list("title", flat=True)) == q_links


def test_a_revert_over_a_newer_change_is_refused(two_tabs):
    ada, bob = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    form["author"] = "First change"
    ada.post(url, form)
    first = Version.objects.get_for_object(obj).order_by("pk").first()
    revert_url = reverse("admin:articles_article_revision", args=[obj.pk, first.pk])
    revert_form = form_data(ada.get(revert_url))
    # Bob saves while Ada looks at the revert page.
    _, bob_form = open_form(bob, obj)
    bob_form["seo_title"] = "Bob's title"
    assert bob.post(url, bob_form).status_code == 302
    refused = ada.post(revert_url, revert_form)
    assert refused.status_code == 200
    assert "bob" in errors_of(refused)
    assert article().seo_title == "Bob's title"


# 4. A related link shows the article it leads to -------------------------------------------


def test_readers_see_the_targets_current_question(client, two_tabs):
    ada, _ = two_tabs
    obj = article()
    link = obj.related_links.exclude(target=None).first()
    other = Article.objects.exclude(pk__in=[obj.pk, link.target_id]).first()
    url, form = open_form(ada, obj)
    index = next(k for k, v in form.items() if k.endswith("-target") and v == str(link.target_id))
    form[index] = other.pk
    assert ada.post(url, form).status_code == 302
    html = client.get(obj.get_absolute_url()).content.decode()
    assert f'<a href="{other.get_absolute_url()}">{other.question}</a>' in html
    # A retitled target is followed too.
    other.refresh_from_db()
    other.question = "A new question?"
    other.save()
    assert "A new question?" in client.get(obj.get_absolute_url()).content.decode()


def test_the_inline_has_no_title_box_for_a_link_that_resolves(two_tabs):
    ada, _ = two_tabs
    obj = article()
    page = ada.get(change_url(obj))
    formset = page.context["inline_admin_formsets"][0].formset
    for subform in formset.forms:
        if subform.instance.target_id is not None:
            assert "title" not in subform.fields or subform.fields["title"].disabled


# 7. An import keeps related-link rows in place ----------------------------------------------


def test_an_import_that_changes_an_article_keeps_its_link_rows(two_tabs, tmp_path):
    ada, _ = two_tabs
    obj = article()
    before = list(obj.related_links.order_by("position").values_list("pk", flat=True))
    changed = tmp_path / "mathematics" / CHAIN_RULE_FILE.name
    changed.parent.mkdir()
    changed.write_text(CHAIN_RULE_FILE.read_text().replace("chain rule", "chain-rule", 1))
    assert import_paths([tmp_path]).updated == 1
    after = list(obj.related_links.order_by("position").values_list("pk", flat=True))
    assert after == before


# 9. Extra front matter cannot hold keys the model owns ---------------------------------------


@pytest.mark.parametrize(
    "key", ["url", "answer", "question", "id", "seo", "related_article1", "seo.title"]
)
def test_extra_front_matter_refuses_keys_the_article_owns(two_tabs, key):
    ada, _ = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    extra = {"seo": {key[4:]: "x"}} if key.startswith("seo.") else {key: "x"}
    form["extra_front_matter"] = json.dumps({**extra, "custom": "kept"})
    response = ada.post(url, form)
    assert response.status_code == 200
    assert key in errors_of(response)
    assert article().extra_front_matter.get(key.split(".")[0]) is None


def test_extra_front_matter_keeps_keys_the_site_does_not_know(two_tabs):
    ada, _ = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    form["extra_front_matter"] = json.dumps({"layout": "wide", "seo": {"robots": "all"}})
    assert ada.post(url, form).status_code == 302
    assert article().extra_front_matter == {"layout": "wide", "seo": {"robots": "all"}}


def test_the_export_never_lets_extra_front_matter_override_a_field(sample_site):
    obj = article()
    # A row written before the admin refused such keys.
    Article.objects.filter(pk=obj.pk).update(
        extra_front_matter={"url": "/learn/other/questions/x", "answer": "Not it."}
    )
    values = front_matter(article())
    assert values["url"] == obj.get_absolute_url()
    assert str(values["answer"]) != "Not it."


# 5. The next import follows an editor's move ---------------------------------------------

SQUARE = "how-do-you-expand-a-perfect-square"


def changed_copy(tmp_path, slug, old, new, subject="mathematics"):
    source = FIXTURES / "learn" / subject / f"{slug}.md"
    copy = tmp_path / subject / source.name
    copy.parent.mkdir(exist_ok=True)
    text = source.read_text()
    assert old in text
    copy.write_text(text.replace(old, new, 1))
    return copy


def test_an_import_after_a_subject_rename_updates_the_moved_articles(client, two_tabs, tmp_path):
    ada, _ = two_tabs
    subject = Subject.objects.get(slug="mathematics")
    subject.slug = "maths"
    subject.save()
    articles_before = Article.objects.count()
    changed_copy(tmp_path, SQUARE, "author: QuickTakes", "author: Corrected")
    report = import_paths([tmp_path])
    assert (report.created, report.updated, report.errors) == (0, 1, [])
    assert not Subject.objects.filter(slug="mathematics").exists()
    assert Article.objects.count() == articles_before
    assert Article.objects.get(slug=SQUARE).author == "Corrected"
    old = client.get(f"/learn/mathematics/questions/{SQUARE}")
    assert (old.status_code, old["Location"]) == (301, f"/learn/maths/questions/{SQUARE}")


def test_an_import_after_an_article_move_updates_it_where_it_is(client, two_tabs, tmp_path):
    ada, _ = two_tabs
    obj = article(SQUARE)
    url, form = open_form(ada, obj)
    form["slug"] = "expanding-a-perfect-square"
    assert ada.post(url, form).status_code == 302
    changed_copy(tmp_path, SQUARE, "author: QuickTakes", "author: Corrected")
    report = import_paths([tmp_path])
    # The editor's move is newer than the file: kept, and the file is reported.
    assert (report.created, report.updated, len(report.conflicts)) == (0, 0, 1)
    assert Article.objects.get(pk=obj.pk).slug == "expanding-a-perfect-square"
    assert not Article.objects.filter(slug=SQUARE).exists()
    forced = import_paths([tmp_path], force=True)
    assert (forced.created, forced.updated) == (0, 1)
    moved = Article.objects.get(pk=obj.pk)
    assert (moved.slug, moved.author) == ("expanding-a-perfect-square", "Corrected")
    assert not Article.objects.filter(slug=SQUARE).exists()


# 6. Two imports at once ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_imports_creating_one_subject_both_succeed(tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database locks per table across threads")

    folders = []
    for n in range(2):
        folder = tmp_path / f"import-{n}" / "new-subject"
        folder.mkdir(parents=True)
        for k in range(5):
            text = (FIXTURES / "learn" / "mathematics" / f"{SQUARE}.md").read_text()
            text = text.replace("/learn/mathematics/", "/learn/new-subject/")
            text = text.replace(SQUARE, f"{SQUARE}-{n}-{k}").replace("id: ", f"id: {n}{k}", 1)
            text = text.replace("subject: Mathematics", "subject: New Subject")
            (folder / f"{SQUARE}-{n}-{k}.md").write_text(text)
        folders.append(folder.parent)

    def run(folder):
        try:
            return import_paths([folder], workers=1)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(run, folders))
    assert [(r.created, r.errors) for r in reports] == [(5, []), (5, [])]
    assert Subject.objects.filter(slug="new-subject").count() == 1
    assert Article.objects.filter(subject__slug="new-subject").count() == 10


def _new_subject_files(root, count, tag):
    """``count`` copies of a fixture article in a subject no database holds yet."""
    folder = root / "new-subject"
    folder.mkdir(parents=True)
    text = (FIXTURES / "learn" / "mathematics" / f"{SQUARE}.md").read_text()
    text = text.replace("/learn/mathematics/", "/learn/new-subject/")
    text = text.replace("subject: Mathematics", "subject: New Subject")
    for k in range(count):
        slug = f"{SQUARE}-{tag}-{k}"
        (folder / f"{slug}.md").write_text(text.replace(SQUARE, slug))
    return root


def test_two_import_processes_and_an_editors_save_share_one_sqlite_file(tmp_path):
    """What the thread test above cannot show on SQLite's in-memory test database: two
    import processes creating the same new subject on one database file both succeed, and
    an editor's save made while a third import writes batches as large as it allows
    (``--batch-size 6000``) waits its turn instead of failing with "database is locked"."""
    if connection.vendor != "sqlite":
        pytest.skip("on PostgreSQL, the thread test above runs the two imports")
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    assert manage(url, "migrate", "--noinput").returncode == 0
    first = _new_subject_files(tmp_path / "first", 5, "a")
    second = _new_subject_files(tmp_path / "second", 5, "b")
    both = [manage_in_background(url, "import_articles", str(f)) for f in (first, second)]
    for process in both:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "5 created" in out and "0 failed" in out, out
    database = sqlite3.connect(tmp_path / "site.sqlite3")
    count = (
        "SELECT count(*) FROM articles_article a JOIN articles_subject s ON s.id = a.subject_id "
    )
    subjects = "SELECT count(*) FROM articles_subject WHERE slug = 'new-subject'"
    assert database.execute(subjects).fetchone() == (1,)
    assert database.execute(count + "WHERE s.slug = 'new-subject'").fetchone() == (10,)

    large = _new_subject_files(tmp_path / "large", 2500, "c")
    importing = manage_in_background(url, "import_articles", str(large), "--batch-size", "6000")
    while database.execute(count + "WHERE a.slug LIKE '%-c-%'").fetchone() == (0,):
        assert importing.poll() is None, "the import ended before its first batch was seen"
        time.sleep(0.05)
    assert importing.poll() is None  # still writing
    edit = manage(url, "shell", "-c", EDITORS_SAVE)
    assert edit.returncode == 0, edit.stderr
    assert "database is locked" not in edit.stderr
    out, err = importing.communicate(timeout=300)
    assert importing.returncode == 0 and "2500 created" in out, err
    author = "SELECT author FROM articles_article WHERE slug = ?"
    assert database.execute(author, (f"{SQUARE}-a-0",)).fetchone() == ("Edited meanwhile",)
    database.close()


#: An editor's save in a process of its own: the whole save path, signals included.
EDITORS_SAVE = f"""
from articles.models import Article
article = Article.objects.get(slug="{SQUARE}-a-0")
article.author = "Edited meanwhile"
article.save()
"""


def manage_in_background(database_url, *args):
    """``manage.py *args`` against ``database_url``, started and left running."""
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_two_vocabulary_refreshes_at_once_both_succeed(sample_site):
    """Two imports ending together each refresh the search vocabulary: the second must
    wait for the first, not insert the words the first just wrote a second time."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database locks per table across threads")

    def run(_):
        try:
            for _ in range(10):
                search.refresh_vocabulary()
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, range(2)))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(DISTINCT term) FROM {search.TERM_TABLE}")
        total, distinct = cursor.fetchone()
    assert total == distinct > 0


def test_no_batch_size_holds_the_write_lock_for_more_than_a_thousand_articles(
    sample_site, tmp_path, monkeypatch
):
    sizes = []
    original = write.Writer._write

    def counted(self, batch):
        sizes.append(len(batch))
        return original(self, batch)

    monkeypatch.setattr(write.Writer, "_write", counted)
    folder = tmp_path / "mathematics"
    folder.mkdir()
    text = (FIXTURES / "learn" / "mathematics" / f"{SQUARE}.md").read_text()
    for n in range(1001):
        (folder / f"q-{n}.md").write_text(
            text.replace(SQUARE, f"q-{n}").replace("id: 90004", f"id: {n + 1}")
        )
    report = import_paths([tmp_path], batch_size=6000, workers=1)
    assert (report.created, report.errors) == (1001, [])
    assert max(sizes) <= 1000


def test_a_file_whose_url_changed_moves_its_article(client, sample_site, tmp_path):
    copy = changed_copy(tmp_path, SQUARE, "author: QuickTakes", "author: Someone")
    assert import_paths([tmp_path]).updated == 1  # the article now remembers this file
    obj = article(SQUARE)
    count = Article.objects.count()
    copy.write_text(
        copy.read_text().replace(
            f"/learn/mathematics/questions/{SQUARE}", "/learn/mathematics/questions/squares"
        )
    )
    report = import_paths([tmp_path], prune_mode="delete")
    assert (report.created, report.pruned, report.errors) == (0, 0, [])
    assert Article.objects.count() == count
    moved = Article.objects.get(pk=obj.pk)
    assert (moved.subject.slug, moved.slug) == ("mathematics", "squares")
    old = client.get(f"/learn/mathematics/questions/{SQUARE}")
    assert (old.status_code, old["Location"]) == (301, "/learn/mathematics/questions/squares")
    assert client.get("/learn/mathematics/questions/squares").status_code == 200


def test_a_preview_that_suppresses_reactions_does_so_in_its_own_thread_only():
    """The revert page's preview writes and rolls back without reactions; a save in another
    thread at that moment keeps its history, redirects and index (a process-wide signal
    mute once lost them under threaded gunicorn)."""
    calls = []
    handler = changes._handler(lambda sender, **kwargs: calls.append(threading.get_ident()))
    with changes.suppressed():
        other = threading.Thread(target=handler, args=(None,))
        other.start()
        other.join()
        handler(None)  # this thread: suppressed
    assert calls == [other.ident]
    handler(None)
    assert len(calls) == 2


def test_the_revert_preview_leaves_other_threads_saves_alone(two_tabs, monkeypatch):
    ada, _ = two_tabs
    obj = article()
    url, form = open_form(ada, obj)
    form["author"] = "A change, so the article has a history"
    assert ada.post(url, form).status_code == 302
    reacted = []
    monkeypatch.setattr(changes, "article_saved", lambda *args, **kwargs: reacted.append(1))
    restore = history.restore_article_version

    def restore_while_another_request_saves(version, **kwargs):
        restore(version, **kwargs)
        # Another request's save, in another thread, while the preview is being built.
        other = threading.Thread(
            target=post_save.send,
            kwargs={
                "sender": Article,
                "instance": obj,
                "created": False,
                "raw": False,
                "using": "default",
                "update_fields": None,
            },
        )
        other.start()
        other.join()

    monkeypatch.setattr(history, "restore_article_version", restore_while_another_request_saves)
    version = Version.objects.get_for_object(obj).first()
    page = ada.get(reverse("admin:articles_article_revision", args=[obj.pk, version.pk]))
    assert page.status_code == 200
    assert reacted == [1]
