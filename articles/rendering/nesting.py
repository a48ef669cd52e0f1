"""How deeply an answer nests: lists, block quotes and square brackets, and the limit.

Owns the measure that import validation and the admin form refuse answers by. Pure and
linear in the answer; must not render anything."""

from __future__ import annotations

import re

from articles.rendering.math import scan

#: The deepest nesting an answer may have. The corpus goes 4 deep at most (lists in lists);
#: deeper input is crafted, and no reader can follow it.
MAX_NESTING_DEPTH = 16

# One container opened at the start of a line: a block quote marker, or a list marker
# followed by a space, a tab or the end of the line.
_CONTAINER = re.compile(r"[ \t]{0,3}(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$))")
_INDENT = re.compile(r"[ \t]*")
# A square bracket, or an escape (which hides the bracket after it); led by one character
# class so the engine skips to candidates at once.
_BRACKET_OR_ESCAPE = re.compile(r"[\\\[\]](?:(?<=\\).)?")


def _width(indent: str) -> int:
    return len(indent.expandtabs(4))


def nesting_depth(source: str) -> int:
    """Decoded Markdown -> the deepest nesting of block quotes, lists and square brackets.

    A line's depth is the list items it sits in (tracked by indentation: an item holds the
    lines indented at least to its text) plus the quote and list markers that open it
    (`> > - x` is 3); a bracket's depth adds the square brackets open around it in its
    paragraph. Code (fences and code spans) and math are not counted. One pass: linear in
    len(source).
    """
    parts, pos = [], 0
    for span in scan(source):  # blank out code and math, keeping line breaks
        if span.kind != "dollar":
            parts.append(source[pos : span.start])
            parts.append(re.sub(r"[^\n]", " ", source[span.start : span.end]))
            pos = span.end
    parts.append(source[pos:])
    deepest = brackets = 0
    items: list[int] = []  # text columns of the list items open above this line
    for line in "".join(parts).split("\n"):
        if not line.strip():
            brackets = 0  # a link's text never crosses a blank line
            continue
        pos = _INDENT.match(line).end()
        indent = _width(line[:pos])
        while items and indent < items[-1]:
            items.pop()
        depth, column = len(items), indent
        while True:
            m = _CONTAINER.match(line, pos)
            if not m:
                break
            depth += 1
            column += _width(m.group())
            if m.group().strip() != ">":
                rest = _INDENT.match(line, m.end()).group()
                items.append(column + max(1, min(len(rest), 4)))
            pos = m.end()
        tail = line[pos:]
        if "[" in tail or "]" in tail:  # escapes matter only next to a bracket
            for ch in _BRACKET_OR_ESCAPE.findall(tail):
                if ch == "[":
                    brackets += 1
                    deepest = max(deepest, depth + brackets)
                elif ch == "]":
                    brackets = max(0, brackets - 1)
        deepest = max(deepest, depth)
    return deepest
