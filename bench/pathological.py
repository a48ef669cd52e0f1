"""Crafted answers that make Markdown renderers slow or deep: each pattern repeated to a size.

Owns the patterns `bench_limits` times and tests/test_render_limits.py renders; must not
render or time anything itself."""

from __future__ import annotations


def _nested_quotes(size: int) -> str:
    return "> " * (size // 2) + "x"


def _nested_list(size: int) -> str:
    lines, total, level = [], 0, 0
    while total < size:
        line = "  " * level + "- x\n"
        lines.append(line)
        total += len(line)
        level += 1
    return "".join(lines)


def _table_rows(size: int) -> str:
    head = "| a |\n| --- |\n"
    return head + "| a |\n" * ((size - len(head)) // 6)


def _repeat(unit: str):
    return lambda size: (unit * (size // len(unit) + 1))[:size]


#: name -> function(size in characters) -> an answer of about that size.
PATTERNS = {
    "[": _repeat("["),
    "[a](b ": _repeat("[a](b "),
    "*a ": _repeat("*a "),
    "` ": _repeat("` "),
    "\\$ ": _repeat("\\$ "),
    "$x$ ": _repeat("$x$ "),
    "> nesting": _nested_quotes,
    "- nested lists": _nested_list,
    "<a ": _repeat("<a "),
    "| a | rows": _table_rows,
}


def answer(name: str, size: int) -> str:
    """The answer of pattern `name` (a key of PATTERNS), about `size` characters long."""
    return PATTERNS[name](size)
