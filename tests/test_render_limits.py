"""Crafted answers: the renderer takes any of them without raising, and the nesting measure
that import and the admin refuse answers by. No database; timing is `manage.py
bench_limits`' business, never a test's."""

import logging

import pytest

from articles import rendering
from articles.rendering import MAX_NESTING_DEPTH, nesting_depth, render_markdown
from bench.pathological import PATTERNS, answer


@pytest.mark.parametrize("name", list(PATTERNS))
def test_a_200_kb_crafted_answer_renders(name):
    source = answer(name, 200_000)
    result = render_markdown(source)
    assert result.html and not result.html.startswith("<pre>")  # rendered, not the last resort


def test_a_249_level_nested_list_renders_as_nested_lists():
    source = "".join("  " * level + f"- item {level}\n" for level in range(249))
    html = render_markdown(source).html
    assert "item 248" in html
    assert html.count("<ul>") == 32  # nesting past the cap keeps its text, not its tags


def test_200000_nested_block_quotes_keep_their_text():
    html = render_markdown("> " * 200_000 + "deep").html
    assert "deep" in html and html.count("<blockquote>") == 64


def test_any_failure_is_shown_as_escaped_text_and_logged(monkeypatch, caplog):
    def boom(text):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(rendering.markdown, "to_html", boom)
    with caplog.at_level(logging.WARNING, logger="articles.rendering"):
        result = render_markdown("# Title <b>x</b>")
    assert result.html == "<pre># Title &lt;b&gt;x&lt;/b&gt;</pre>"
    assert result.formulas == 0 and "rendering failed" in caplog.text


@pytest.mark.parametrize(
    ("source", "depth"),
    [
        ("plain text", 0),
        ("- a\n- b", 1),
        ("- a\n  - b\n    - c\n- d", 3),
        ("1. a\n   - b\n\n     text\n2. c", 2),
        ("> > quoted", 2),
        ("> - a\n> - b", 2),
        ("- - - x", 3),
        ("see [a [b] c](d)", 2),
        ("- [link](x)", 2),
        (r"escaped \[ \[ \[", 0),
        ("`[[[[` and $[[[[x]]]]$", 0),
        ("```\n- a\n  - b\n    - c\n```", 0),
        ("[ one paragraph\n\n[ another", 1),
    ],
)
def test_nesting_depth_counts_lists_quotes_and_brackets(source, depth):
    assert nesting_depth(source) == depth


def test_nesting_depth_of_crafted_answers_is_over_the_limit():
    for name in ("[", "> nesting", "- nested lists"):
        assert nesting_depth(answer(name, 10_000)) > MAX_NESTING_DEPTH, name


def test_nesting_depth_of_a_200_kb_answer_is_measured():
    for name in PATTERNS:
        assert nesting_depth(answer(name, 200_000)) >= 0
