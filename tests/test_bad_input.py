"""The bad-input collection in tests/bad_input/: each file imports correctly or gives one
clear line (file, line, what is wrong, what to do); the rest of the batch still imports."""

import resource
from pathlib import Path

import pytest

from articles.frontmatter import MAX_ANSWER_CHARS, parse_file
from articles.importing import import_paths
from articles.models import Article, RelatedLink
from tests.conftest import FIXTURES, run_import

BAD_INPUT = Path(__file__).resolve().parent / "bad_input"

#: file -> (line or None, words in the message)
REFUSED = {
    "alias-bomb.md": (27, "anchors and aliases"),
    "answer-null.md": (None, "missing required field(s): answer"),
    "answer-nested-249-levels.md": (
        20,
        "'answer' nests 249 levels deep (lists, block quotes, brackets); the limit is 16",
    ),
    "control-character-in-answer.md": (20, "'answer' holds the control character U+000C"),
    "control-character-in-title.md": (5, "'title' holds the control character U+000B"),
    "date-february-30.md": (4, "'date' '2024-02-30' does not exist: day is out of range"),
    "date-month-13.md": (4, "'date' '2024-13-01' does not exist: month must be in 1..12"),
    "date-with-trailing-text.md": (4, "'date' must be a date written as YYYY-MM-DD"),
    "id-in-hexadecimal.md": (3, "'id' must be a whole number in decimal digits, not '0x1F'"),
    "colon-in-plain-scalar.md": (5, "must be quoted or written as a folded block"),
    "duplicate-key.md": (18, "duplicate key 'author'; keep one of the two"),
    "empty-file.md": (1, "must start with a '---' line"),
    "front-matter-is-a-list.md": (2, "must be a map"),
    "id-not-a-number.md": (3, "'id' must be a whole number"),
    "missing-required-field.md": (None, "missing required field(s): url"),
    "no-closing-dashes.md": (1, "no closing '---' line"),
    "no-index-not-boolean.md": (26, "'no_index' must be true or false"),
    "not-utf8.md": (17, "not UTF-8"),
    "nul-byte.md": (17, "control characters are not allowed"),
    "only-dashes.md": (2, "must be a map"),
    "related-link-without-url.md": (26, "'related_article1' has no url"),
    "subject-as-list.md": (22, "'subject' must be text, not list"),
    "tab-indentation.md": (12, "indent with spaces, not tabs"),
    "title-too-long.md": (18, "the limit is 300"),
    "unsafe-tag.md": (17, "remove the tag"),
    "url-outside-learn.md": (24, "'url' must look like /learn/"),
    "value-starting-with-backtick.md": (17, "quote a value that starts with `"),
}
#: file -> slug of the article it imports as
ACCEPTED = {
    "byte-order-mark.md": "byte-order-mark",
    "crlf-line-endings.md": "crlf-line-endings",
    "date-quoted.md": "date-quoted",
    "date-timestamp-with-offset.md": "date-timestamp-with-offset",
    "trailing-space-after-opening-dashes.md": "trailing-space-after-opening-dashes",
    "two-yaml-documents.md": "two-yaml-documents",
    "yaml-1-1-numbers-stay-text.md": "yaml-1-1-numbers-stay-text",
}


def test_the_collection_is_complete():
    assert {p.name for p in BAD_INPUT.glob("*.md")} == set(REFUSED) | set(ACCEPTED)


@pytest.fixture(scope="module")
def outcome(django_db_setup, django_db_blocker, tmp_path_factory):
    """Import the whole collection plus two good fixtures, once."""
    with django_db_blocker.unblock():
        Article.objects.all().delete()
        folder = tmp_path_factory.mktemp("batch")
        for path in BAD_INPUT.glob("*.md"):
            (folder / path.name).write_bytes(path.read_bytes())
        good = FIXTURES / "learn" / "computer-science"
        for path in good.glob("*.md"):
            (folder / path.name).write_bytes(path.read_bytes())
        out, err, status = run_import(folder)
        slugs = set(Article.objects.values_list("slug", flat=True))
        Article.objects.all().delete()
    return out, err, status, slugs


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_refused_file_gives_one_clear_line(outcome, name):
    out, err, status, slugs = outcome
    line, words = REFUSED[name]
    lines = [text for text in err.splitlines() if f"{name}" in text]
    assert len(lines) == 1, err
    where = f"{name}:{line}: " if line else f"{name}: "
    assert where in lines[0]
    assert words in lines[0]
    assert "Traceback" not in err
    assert name.removesuffix(".md") not in slugs  # never a half-written article


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_an_accepted_file_imports_correctly(outcome, name):
    out, err, status, slugs = outcome
    assert ACCEPTED[name] in slugs
    assert name not in err


def test_the_rest_of_the_batch_imports_and_the_status_is_non_zero(outcome):
    out, err, status, slugs = outcome
    assert status == 1
    assert {"what-does-staticcast-do-in-c", "how-do-you-escape-html-in-a-web-page"} <= slugs
    assert f"{len(REFUSED)} failed" in out


def test_dates_in_other_spellings_become_the_same_date():
    quoted = parse_file(BAD_INPUT / "date-quoted.md")
    stamped = parse_file(BAD_INPUT / "date-timestamp-with-offset.md")
    assert str(quoted.date) == str(stamped.date) == "2024-11-29"


def test_the_alias_bomb_keeps_memory_flat():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(Exception, match="anchors and aliases"):
        parse_file(BAD_INPUT / "alias-bomb.md")
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50_000  # 9**9 items would be gigabytes


@pytest.mark.django_db
def test_the_longest_answer_the_limit_admits_imports_and_one_more_is_refused(tmp_path):
    text = (BAD_INPUT / "date-quoted.md").read_text(encoding="utf-8")
    original = "Use the identity and line up the steps:"
    filler = MAX_ANSWER_CHARS - len(text.split("answer: ", 1)[1].split("\n", 1)[0])
    huge = ("All work and no play. " * (MAX_ANSWER_CHARS // 22 + 1))[:filler]
    for slug, words in (("longest-answer", huge[: filler - 200]), ("too-long", huge + "x" * 400)):
        path = tmp_path / f"{slug}.md"
        path.write_text(text.replace("date-quoted", slug).replace(original, words))
    report = import_paths([tmp_path], workers=1)
    assert report.created == 1
    (error,) = report.errors
    assert "too-long.md" in str(error) and f"the limit is {MAX_ANSWER_CHARS}" in str(error)
    assert len(Article.objects.get().answer) > MAX_ANSWER_CHARS - 1000
    assert RelatedLink.objects.count() == 0
