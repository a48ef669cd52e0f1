"""Crafted answers: the renderer takes any of them without raising, and the nesting measure
that import and the admin refuse answers by. No database; timing is `manage.py
bench_limits`' business, never a test's."""

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


#: Text made of what Markdown, math and the renderer's own passes react to.
MARKDOWN_SOUP = st.text(
    alphabet=st.sampled_from(list("[]()<>*_`~$\\|#>-+.1 \n\t:/!&;x")) | st.characters(),
    max_size=300,
)


class _Failures(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@settings(max_examples=300, deadline=None)
@given(MARKDOWN_SOUP)
def test_any_text_renders_without_the_last_resort(source):
    failures = _Failures()
    logger = logging.getLogger("articles.rendering")
    logger.addHandler(failures)
    try:
        result = render_markdown(source)
    finally:
        logger.removeHandler(failures)
    assert not [m for m in failures.messages if "rendering failed" in m]
    assert "\ue002" not in result.html and "\ue003" not in result.html
    result.html.encode("utf-8")  # a lone surrogate became U+FFFD


@settings(max_examples=100, deadline=None)
@given(MARKDOWN_SOUP)
def test_nesting_depth_is_a_count_for_any_text(source):
    assert nesting_depth(source) >= 0


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


@pytest.mark.parametrize("unit", ["- ", "1. ", "> - ", "* > "])
def test_a_200_kb_line_of_nested_markers_renders_and_is_over_the_limit(unit):
    source = unit * (200_000 // len(unit)) + "x"
    assert nesting_depth(source) > MAX_NESTING_DEPTH
    assert render_markdown(source).html.count("<li>") <= 64


def test_nesting_depth_of_a_200_kb_answer_is_measured():
    for name in PATTERNS:
        assert nesting_depth(answer(name, 200_000)) >= 0
