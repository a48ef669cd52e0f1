"""Crafted or odd input: text is kept exactly as written, typed fields are validated, and
export --check agrees with files that leave optional keys out."""

import io
import os
import resource
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import views
from articles.caching import SITE, tag_versions
from articles.exporting import load_front_matter, to_text
from articles.frontmatter import MAX_ANSWER_CHARS, MAX_FILE_BYTES, FrontMatterError, parse_bytes
from articles.models import Article, Subject
from tests.conftest import run_import
from tests.test_admin import form_data
from tests.test_bad_input import BAD_INPUT

HEADER = "---\nurl: /learn/maths/questions/q\nsubject: Maths\ndate: 2024-11-29\nanswer: A.\n"


def parse(front_matter):
    return parse_bytes(f"{HEADER}{front_matter}---\n".encode(), "q.md")


@pytest.mark.parametrize(
    "written",
    ["10:00", "1:30:00", "0x1F", "010", "3.10", "1_000", ".inf", "-.NaN", "yes", "off", "1e3"],
)
def test_yaml_1_1_numbers_and_booleans_in_text_fields_stay_as_written(written):
    record = parse(f"question: {written}\nauthor: {written}\nseo:\n  title: {written}\n")
    assert record.question == record.author == record.seo_title == written


def test_related_titles_and_subjects_stay_as_written():
    record = parse(
        "question: Q?\nrelated_article1:\n  title: 12:30\n  subject: 010\n"
        "  url: /learn/maths/questions/r\n  id: 7\n"
    )
    assert record.related[0].title == "12:30"
    assert record.related[0].subject_name == "010"
    assert record.related[0].source_id == 7


@pytest.mark.django_db
def test_the_page_shows_the_question_as_written(client, tmp_path):
    folder = tmp_path / "learn"
    folder.mkdir()
    source = BAD_INPUT / "yaml-1-1-numbers-stay-text.md"
    (folder / source.name).write_bytes(source.read_bytes())
    out, err, status = run_import(folder)
    assert status == 0, err
    article = Article.objects.get(slug="yaml-1-1-numbers-stay-text")
    assert (article.question, article.title, article.author) == ("10:00", "0x1F", "010")
    assert (article.article_title, article.seo_title, article.seo_keywords) == (
        "1_000",
        "3.10",
        ".inf",
    )
    page = client.get(article.get_absolute_url())
    assert "<h1" in page.content.decode() and ">10:00</h1>" in page.content.decode()
    # The export writes the same text back.
    assert load_front_matter(to_text(article))["question"] == "10:00"


@pytest.mark.parametrize(
    "line, words",
    [
        ("id: 0x1F", "'id' must be a whole number in decimal digits"),
        ("id: 010.5", "'id' must be a whole number"),
        ("id: 1_000", "'id' must be a whole number"),
        ("score: .inf", "'score' must be a number"),
        ("score: 1:30", "'score' must be a number"),
        ("no_index: yes", "'no_index' must be true or false"),
        ("no_index: 1", "'no_index' must be true or false"),
        ("question: !!int 5", "the tag 'tag:yaml.org,2002:int' is not allowed"),
    ],
)
def test_typed_fields_are_validated_with_one_line(line, words):
    with pytest.raises(FrontMatterError) as caught:
        parse(f"question: Q?\n{line}\n" if not line.startswith("question") else f"{line}\n")
    assert words in str(caught.value)
    assert caught.value.line is not None


def test_typed_fields_take_their_usual_spellings():
    record = parse("question: Q?\nid: 42\nscore: -1.0\nno_index: true\n")
    assert (record.source_id, record.score, record.no_index) == (42, -1.0, True)
    assert parse("question: Q?\nscore: 3\nno_index: False\n").score == 3.0
    assert parse("question: Q?\nid:\nscore: ~\n").source_id is None


@pytest.mark.parametrize(
    "date, words",
    [
        ("2024-02-30", "'date' '2024-02-30' does not exist: day is out of range for month"),
        ("2024-13-01", "'date' '2024-13-01' does not exist: month must be in 1..12"),
        ('"2024-02-09 and some garbage"', "'date' must be a date written as YYYY-MM-DD"),
        ("2024-02-09T25:00:00", "does not exist: hour must be in 0..23"),
        ("tomorrow", "'date' must be a date written as YYYY-MM-DD"),
    ],
)
def test_a_bad_date_is_one_line_naming_the_file_line_and_key(date, words):
    text = HEADER.replace("date: 2024-11-29", f"date: {date}") + "question: Q?\n---\n"
    with pytest.raises(FrontMatterError) as caught:
        parse_bytes(text.encode(), "q.md")
    message = str(caught.value)
    assert message.startswith("q.md:4: ")
    assert words in message
    assert "\n" not in message


@pytest.mark.django_db
def test_a_bad_date_in_a_batch_is_one_line_and_no_traceback(tmp_path):
    folder = tmp_path / "learn"
    folder.mkdir()
    for name in ("date-february-30.md", "date-month-13.md", "date-quoted.md"):
        (folder / name).write_bytes((BAD_INPUT / name).read_bytes())
    out, err, status = run_import(folder)
    assert status == 1
    assert "Traceback" not in err and "please report" not in err
    assert len([line for line in err.splitlines() if "date-" in line]) == 2
    assert Article.objects.filter(slug="date-quoted").exists()


@pytest.mark.parametrize("character", ["\\v", "\\f", "\\x1b", "\\x7f", "\\x85", "\\0"])
def test_control_characters_are_refused_with_the_key_and_line(character):
    with pytest.raises(FrontMatterError) as caught:
        parse(f'question: Q?\nauthor: "A{character}B"\n')
    assert "'author' holds the control character U+" in str(caught.value)
    assert caught.value.line == 7


def test_tabs_and_line_breaks_are_not_control_characters():
    record = parse('question: Q?\nauthor: "A\\tB"\n')
    assert record.author == "A\tB"


@pytest.mark.django_db
def test_export_check_passes_on_files_without_optional_keys(tmp_path, write_article):
    write_article(article_title=None, author=None, date_format=None, post_on_text=None)
    out, err, status = run_import(tmp_path / "learn")
    assert status == 0, err
    call_command("export_articles", str(tmp_path / "out"), check=True)
    exported = (tmp_path / "out" / "mathematics" / "a-question.md").read_text()
    for key in ("article_title", "author", "date_format", "post_on_text"):
        assert f"\n{key}:" not in exported


# Archives: sizes checked from the archive's directory before any read; errors name the
# member inside the archive.

BOMB_BYTES = 64 * 1024 * 1024  # eight times the file limit; a real bomb is only larger


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in chunks (never held in memory at once)."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def _zip_bomb(path, good):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        with zipped.open("learn/bomb.md", "w", force_zip64=True) as member:
            stream = _Zeros(BOMB_BYTES)
            while chunk := stream.read(1 << 20):
                member.write(chunk)
        zipped.write(good, f"learn/{good.name}")
    return path


def _tar_bomb(path, good):
    with tarfile.open(path, "w:gz", compresslevel=1) as tarred:
        tarred.add(good, f"learn/{good.name}")
        info = tarfile.TarInfo("learn/bomb.md")
        info.size = BOMB_BYTES
        tarred.addfile(info, io.BufferedReader(_Zeros(BOMB_BYTES)))
    return path


@pytest.mark.django_db
@pytest.mark.parametrize("make", [_zip_bomb, _tar_bomb], ids=["zip", "tar.gz"])
def test_an_archive_bomb_is_refused_from_its_directory_with_memory_flat(make, tmp_path):
    good = BAD_INPUT / "date-quoted.md"
    archive = make(tmp_path / ("bomb.zip" if make is _zip_bomb else "bomb.tar.gz"), good)
    assert archive.stat().st_size < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out, err, status = run_import(archive)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert status == 1
    assert f"{archive}/learn/bomb.md: the file is {BOMB_BYTES} bytes; the limit is" in err
    assert "import-" not in err  # never the temporary folder
    assert grown_kb < 30_000
    assert Article.objects.filter(slug="date-quoted").exists()  # the rest imports


@pytest.mark.django_db
def test_a_member_that_understates_its_size_is_cut_off(tmp_path):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("learn/liar.md", b"x" * (MAX_FILE_BYTES + 10))
    # Rewrite the directory's uncompressed size so it claims 100 bytes.
    data = bytearray(archive.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    out, err, status = run_import(archive)
    assert status == 1
    assert "liar" in err and "Traceback" not in err
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_errors_in_an_archive_name_the_member_inside_it(tmp_path):
    archive = tmp_path / "learn.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(BAD_INPUT / "date-february-30.md", "maths/date-february-30.md")
    out, err, status = run_import(archive)
    assert status == 1
    assert f"{archive}/maths/date-february-30.md:4: 'date'" in err
    assert "import-" not in err


@pytest.mark.django_db
def test_a_large_file_in_a_folder_is_refused_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "learn" / "big.md"
    big.parent.mkdir()
    with open(big, "wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk, and never read
    reads = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or b"")
    out, err, status = run_import(tmp_path / "learn")
    assert f"big.md: the file is {MAX_FILE_BYTES + 1} bytes; the limit is" in err
    assert reads == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "entries, words",
    [
        ('[{"title": "X", "slug": "Bad Slug/../x"}]', "entry 1: slug 'Bad Slug/../x' must be"),
        ('[{"title": "A", "slug": "a"}, {"title": "B", "slug": "a"}]', "entry 2: slug 'a' is also"),
        (
            '[{"title": "A", "slug": "a"}, {"title": "a", "slug": "b"}]',
            "entry 2: title 'a' is also",
        ),
        ('[{"title": "", "slug": "a"}]', "entry 1: title must be non-empty text"),
        ('[{"title": "A\\u000b", "slug": "a"}]', "entry 1: title holds a control character"),
        ('[{"title": "A", "slug": "a", "listed": 1}]', "entry 1: has unknown key(s) 'listed'"),
        ('[{"title": "A", "slug": "a"}, 7]', "entry 2: must be a map"),
        ('[{"title": "A", "slug": "a"},\n oops]', ":2: invalid JSON"),
    ],
)
def test_a_bad_subjects_file_is_refused_whole_before_anything_is_written(
    client, tmp_path, write_article, entries, words
):  # fmt: skip
    write_article()
    subjects = tmp_path / "subjects.json"
    subjects.write_text(entries)
    out, err, status = run_import(tmp_path / "learn", subjects=subjects)
    assert status != 0
    assert words in err
    assert not Article.objects.exists() and not Subject.objects.exists()
    assert client.get("/learn").status_code == 200


# Serving: one cache entry per canonical page, whatever the query string; only a real
# signed-in session skips the cache; one cache for every process.

ARTICLE = "/learn/mathematics/questions/how-do-you-expand-a-perfect-square"


def cache_entries():
    return len(cache._cache)


@pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "quicktakes.cache.FolderCache",
    reason="counts the folder cache's entries",
)
def test_junk_query_strings_never_fill_the_cache(client, sample_site):
    assert client.get(ARTICLE).status_code == 200
    assert client.get("/learn/mathematics").status_code == 200
    before = cache_entries()
    junk = ["p=zzz", "page=01", "page=001", "page=1", "page=-1", "page=2&page=3", "x=1"]
    for number in range(1000):
        query = junk[number % len(junk)] + ("" if number < len(junk) else f"&n={number}")
        for path in (ARTICLE, "/learn/mathematics"):
            response = client.get(f"{path}?{query}")
            if response.status_code == 404:  # not a page number, or one past the last page
                assert path != ARTICLE and query.startswith(("page=-1", "page=2")), query
                continue
            assert response.status_code == 301, query
            assert response["Location"] in (path, f"{path}?page=2", f"{path}?page=3")
    assert cache_entries() == before


def test_a_non_canonical_page_number_goes_to_its_canonical_address(
    client, sample_site, monkeypatch
):
    monkeypatch.setattr(views.SubjectDetailView, "paginate_by", 1)
    response = client.get("/learn/mathematics?page=002")
    assert (response.status_code, response["Location"]) == (301, "/learn/mathematics?page=2")
    assert client.get("/learn/mathematics?page=2").status_code == 200
    assert client.get("/learn/mathematics?page=0099").status_code == 404  # no such page


@pytest.mark.parametrize("cookie", ["x", "0" * 32, "abcdefgh12345678abcdefgh12345678"])
def test_a_made_up_session_cookie_is_served_from_the_cache(client, sample_site, cookie):
    first = client.get(ARTICLE)
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    with CaptureQueriesContext(connection) as queries:
        again = client.get(ARTICLE)
    assert again.content == first.content
    assert len(queries) <= 1  # at most the session lookup; never the page's queries


def test_a_signed_in_editor_always_gets_a_fresh_page(client, sample_site, admin_user):
    client.get(ARTICLE)
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as queries:
        client.get(ARTICLE)
    assert len(queries) > 2


@pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "quicktakes.cache.FolderCache",
    reason="the folder cache is the default without Redis",
)
def test_without_redis_every_process_shares_one_cache(sample_site):
    before = tag_versions([SITE])
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); "
            "from articles.caching import invalidate_everything; invalidate_everything()",
        ],
        check=True,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "quicktakes.settings",
            "FILE_CACHE_DIR": settings.CACHES["default"]["LOCATION"],
            "DATABASE_URL": "sqlite://:memory:",  # another process: not the test database
        },
    )
    assert tag_versions([SITE]) != before


# --- 7. the admin's answer limit ------------------------------------------------------------


def test_the_admin_refuses_an_answer_past_the_limit_and_previews_none(admin_client, sample_site):
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    url = reverse("admin:articles_article_change", args=[article.pk])
    data = form_data(admin_client.get(url))
    data["answer"] = "a" * (MAX_ANSWER_CHARS + 1)
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert f"the limit is {MAX_ANSWER_CHARS:,}" in response.content.decode()
    assert len(Article.objects.get(pk=article.pk).answer) < MAX_ANSWER_CHARS
    preview = admin_client.post(
        reverse("admin:articles_article_preview"), {"answer": data["answer"]}
    )
    assert preview.status_code == 413
    assert f"the limit is {MAX_ANSWER_CHARS:,}" in preview.content.decode()
