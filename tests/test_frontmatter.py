"""articles.frontmatter: bytes in, a record or one clear error out. No database."""

import datetime
import hashlib
import pickle

import pytest

from articles.frontmatter import MAX_LENGTHS, FrontMatterError, parse_bytes, parse_file
from articles.models import Article, RelatedLink
from tests.conftest import FIXTURES

GOOD = b"""---
_schema: default
id: 64438
date: 2024-11-29
title: >-
    What is X?
article_title: >-
    What is X?
date_format: MMM DD, YYYY
post_on_text: Posted on
seo:
  title: QuickTakes | Digital Media
  page_description: >-
    X explained.
  page_keywords: >-
    x, y
author: QuickTakes
question: >-
    What is X?
answer: >-
    Line one.\\n\\nLine two with $q \\neq 0$.
subject: Digital Media
file_name: what-is-x.md
url: /learn/digital-media/questions/what-is-x
score: -1.0
related_article1:
    id: 64403
    title: >-
        What is Y?
    subject: Health Studies
    url: /learn/health-studies/questions/what-is-y
colour: blue
---

&nbsp;"""


def test_parses_every_field_of_a_corpus_style_file():
    record = parse_bytes(GOOD, "what-is-x.md")
    assert record.subject_slug == "digital-media"
    assert record.slug == "what-is-x"
    assert record.url == "/learn/digital-media/questions/what-is-x"
    assert record.source_id == 64438
    assert record.date == datetime.date(2024, 11, 29)
    assert record.question == "What is X?"
    assert record.seo_title == "QuickTakes | Digital Media"
    assert record.seo_description == "X explained."
    assert record.seo_keywords == "x, y"
    assert record.score == -1.0
    assert record.no_index is False
    # Folded scalars keep backslash-n as two characters: decoding is the renderer's job.
    assert record.answer_raw == "Line one.\\n\\nLine two with $q \\neq 0$."
    assert [(link.position, link.url, link.source_id) for link in record.related] == [
        (1, "/learn/health-studies/questions/what-is-y", 64403)
    ]


def test_unknown_keys_and_the_body_are_kept():
    record = parse_bytes(GOOD, "what-is-x.md")
    assert record.extra == {"_schema": "default", "colour": "blue"}
    assert record.body == "\n&nbsp;"
    assert record.keys[:3] == ("_schema", "id", "date")
    assert record.keys[-1] == "colour"


def test_source_hash_is_the_sha256_of_the_bytes():
    assert parse_bytes(GOOD).source_hash == hashlib.sha256(GOOD).hexdigest()


def test_a_byte_order_mark_is_accepted():
    assert parse_bytes(b"\xef\xbb\xbf" + GOOD).slug == "what-is-x"


def test_crlf_line_endings_are_accepted():
    assert parse_bytes(GOOD.replace(b"\n", b"\r\n")).question == "What is X?"


@pytest.mark.parametrize(
    "data, line, words",
    [
        (b"title: x\n", 1, "must start with a '---' line"),
        (b"---\ntitle: x\n", 1, "no closing '---'"),
        (b"---\ntitle: Derivatives: the chain rule\n---\n", 2, "invalid YAML"),
        (
            b"---\nx: !!python/object/apply:os.getcwd []\n---\n",
            2,
            "is not allowed; remove the tag",
        ),
        (b"---\ntitle: caf\xe9\n---\n", 2, "not UTF-8"),
        (b"---\n- a list\n---\n", 2, "must be a map"),
    ],
)
def test_bad_files_give_one_error_with_file_and_line(data, line, words):
    with pytest.raises(FrontMatterError) as caught:
        parse_bytes(data, "bad.md")
    assert caught.value.path == "bad.md"
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"bad.md:{line}: ")


def test_a_missing_required_field_is_named():
    data = GOOD.replace(b"url: /learn/digital-media/questions/what-is-x\n", b"")
    with pytest.raises(FrontMatterError, match="missing required field.*url"):
        parse_bytes(data, "bad.md")


def test_a_wrong_type_names_the_field_and_its_line():
    data = GOOD.replace(b"subject: Digital Media", b"subject: [Digital Media]")
    with pytest.raises(FrontMatterError) as caught:
        parse_bytes(data, "bad.md")
    assert "'subject' must be text, not list" in caught.value.message
    assert caught.value.line == 22


def test_a_url_not_under_learn_is_refused():
    data = GOOD.replace(b"url: /learn/digital-media/questions/what-is-x", b"url: /elsewhere")
    with pytest.raises(FrontMatterError, match="'url' must look like"):
        parse_bytes(data, "bad.md")


def test_a_quoted_date_and_a_timestamp_with_offset_become_dates():
    quoted = parse_bytes(GOOD.replace(b"date: 2024-11-29", b'date: "2024-11-29"'))
    stamped = parse_bytes(GOOD.replace(b"date: 2024-11-29", b"date: 2024-11-29T10:00:00+05:00"))
    assert quoted.date == stamped.date == datetime.date(2024, 11, 29)


def test_no_index_must_be_a_boolean():
    with pytest.raises(FrontMatterError, match="no_index"):
        parse_bytes(GOOD.replace(b"colour: blue", b"no_index: maybe"))


def test_every_fixture_parses():
    files = sorted((FIXTURES / "learn").rglob("*.md"))
    assert len(files) >= 12
    records = [parse_file(path) for path in files]
    assert len({r.subject_slug for r in records}) >= 3


def test_errors_survive_pickling_between_processes():
    error = FrontMatterError("bad.md", "what is wrong", line=3, key="title")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.message, copy.line, copy.key) == ("bad.md", "what is wrong", 3, "title")


def test_length_limits_match_the_models_columns():
    article_fields = {
        "title": "title",
        "article_title": "article_title",
        "question": "question",
        "slug": "slug",
        "date_format": "date_format",
        "post_on_text": "post_on_text",
        "author": "author",
        "subject": "subject_name",
        "file_name": "file_name",
        "seo.title": "seo_title",
    }
    for key, field in article_fields.items():
        assert MAX_LENGTHS[key] == Article._meta.get_field(field).max_length, key
    for key, field in {
        "related.title": "title",
        "related.subject": "subject_name",
        "related.url": "url",
    }.items():
        assert MAX_LENGTHS[key] == RelatedLink._meta.get_field(field).max_length, key


@pytest.mark.parametrize(
    "old, new, words",
    [
        (b"id: 64438", b"id: 99999999999999999999", "'id' is too large for an id"),
        (
            b"author: QuickTakes",
            b"author: " + b"a" * 201,
            "'author' is 201 characters long; the limit is 200",
        ),
        (
            b"  title: QuickTakes | Digital Media",
            b"  title: " + b"t" * 301,
            "'seo.title' is 301 characters long",
        ),
        (
            b"date_format: MMM DD, YYYY",
            b"date_format: " + b"D" * 51,
            "'date_format' is 51 characters long",
        ),
    ],
)
def test_values_too_large_for_their_column_are_refused_with_their_line(old, new, words):
    with pytest.raises(FrontMatterError) as caught:
        parse_bytes(GOOD.replace(old, new), "big.md")
    assert words in caught.value.message
    assert caught.value.line is not None
