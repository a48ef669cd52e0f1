"""articles.importing.plan without a database: what each (stored row, file) pair becomes.

No test here is marked django_db, so pytest-django refuses any query: the planner decides
from plain values only.
"""

import dataclasses
from datetime import UTC, datetime

import pytest

from articles.frontmatter import parse_bytes
from articles.importing.plan import (
    Action,
    StoredArticle,
    UrlClaims,
    decide,
    plan_batch,
)
from articles.importing.prepare import IMPORTED_FIELDS, PreparedArticle

FILE = """---
id: 7
date: 2024-11-29
title: What is a limit?
article_title: What is a limit?
date_format: MMM DD, YYYY
post_on_text: Posted on
author: QuickTakes
question: What is a limit?
answer: >-
    The value a function approaches.\\n\\nSee $\\lim_{x \\to 0}$.
subject: Mathematics
file_name: what-is-a-limit.md
url: /learn/mathematics/questions/{slug}
related_article1:
    id: 8
    title: What is a derivative?
    subject: Mathematics
    url: /learn/mathematics/questions/what-is-a-derivative
---

&nbsp;"""

EDITED_AT = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)


def prepared(slug="what-is-a-limit", path=None):
    text = FILE.replace("{slug}", slug)
    record = parse_bytes(text.encode(), path or f"learn/mathematics/{slug}.md")
    answer = record.answer_raw.replace("\\n", "\n")
    return PreparedArticle(record, f"/corpus/{slug}.md", answer, "<p>html</p>", 1)


def row(file, *, answer=None, links=None, status="published", edited=False):
    """The row an earlier import of ``file`` left, with the changes named."""
    fields = file.field_values()
    if answer is not None:
        fields["answer"] = answer
    return StoredArticle(
        pk=1,
        fields=fields,
        links=file.link_values() if links is None else links,
        status=status,
        edited_since_import=edited,
        edited_at=EDITED_AT if edited else None,
    )


OTHER_LINKS = [
    (1, "What is a derivative?", "/learn/mathematics/questions/elsewhere", "Mathematics", 8)
]

#: (what the database holds at the file's address, force) -> what the import does.
TABLE = {
    "no row": (None, False, Action.CREATE),
    "no row, forced": (None, True, Action.CREATE),
    "same content": (dict(), False, Action.UNCHANGED),
    "same content, edited by an editor since": (dict(edited=True), False, Action.UNCHANGED),
    "same content, unpublished by prune": (dict(status="draft"), False, Action.REPUBLISH),
    "same content, unpublished by an editor": (
        dict(status="draft", edited=True),
        False,
        Action.UNCHANGED,
    ),
    "file changed": (dict(answer="An older answer."), False, Action.UPDATE),
    # Status is not an imported field: the row is updated and stays a draft.
    "file changed, row unpublished by prune": (
        dict(answer="An older answer.", status="draft"),
        False,
        Action.UPDATE,
    ),
    "related links changed": (dict(links=OTHER_LINKS), False, Action.UPDATE),
    "file changed and editor changed the row": (
        dict(answer="The editor's answer.", edited=True),
        False,
        Action.CONFLICT,
    ),
    "links changed and editor changed the row": (
        dict(links=OTHER_LINKS, edited=True),
        False,
        Action.CONFLICT,
    ),
    "file changed and editor changed the row, forced": (
        dict(answer="The editor's answer.", edited=True),
        True,
        Action.UPDATE,
    ),
}


@pytest.mark.parametrize("case", TABLE)
def test_decision_table(case):
    changes, force, expected = TABLE[case]
    file = prepared()
    stored = None if changes is None else row(file, **changes)
    assert decide(file, stored, force=force) is expected


def test_a_conflict_names_the_file_the_url_and_the_editors_time():
    file = prepared()
    plan = plan_batch([(file, row(file, answer="The editor's answer.", edited=True))])
    assert plan.conflicts == [
        "learn/mathematics/what-is-a-limit.md: /learn/mathematics/questions/what-is-a-limit was "
        "changed in the admin on 2025-03-04 05:06 UTC and differs from its file; kept the "
        "editor's version (use --force to take the file's)"
    ]
    assert (plan.created, plan.updated, plan.unchanged) == (0, 0, 0)


def test_a_plan_counts_each_kind_in_the_batchs_order():
    new, same, pruned, changed, contested = (
        prepared(slug) for slug in ("new", "same", "pruned", "changed", "contested")
    )
    plan = plan_batch(
        [
            (new, None),
            (same, row(same)),
            (pruned, row(pruned, status="draft")),
            (changed, row(changed, answer="Old.")),
            (contested, row(contested, answer="Edited.", edited=True)),
        ]
    )
    assert [d.action for d in plan.decisions] == [
        Action.CREATE,
        Action.UNCHANGED,
        Action.REPUBLISH,
        Action.UPDATE,
        Action.CONFLICT,
    ]
    # A republished article counts as updated, as the report has always said.
    assert (plan.created, plan.updated, plan.unchanged, len(plan.conflicts)) == (1, 2, 1, 1)
    assert [d.prepared for d in plan.of(Action.UPDATE)] == [changed]


def test_every_imported_field_is_compared():
    file = prepared()
    assert tuple(file.field_values()) == IMPORTED_FIELDS
    for name in IMPORTED_FIELDS:
        stored = row(file)
        stored = dataclasses.replace(stored, fields={**stored.fields, name: object()})
        assert decide(file, stored) is Action.UPDATE, name


def test_a_second_file_with_the_same_url_is_refused_and_the_first_stands():
    claims = UrlClaims()
    first = prepared(path="a/first.md")
    second = prepared(path="b/second.md")
    assert claims.refuse(first.record) is None
    refused = claims.refuse(second.record)
    assert "b/second.md" in str(refused)
    assert "url /learn/mathematics/questions/what-is-a-limit is also the url of a/first.md" in str(
        refused
    )
    assert claims.refuse(prepared("another-slug").record) is None
