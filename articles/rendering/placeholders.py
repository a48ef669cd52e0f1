"""Math placeholders: formulas cut out of the Markdown source, and put back as HTML.

Owns the private-use characters that stand in for formulas on their way through Markdown
and the sanitiser. Must not convert LaTeX or sanitise: the caller gives each formula's HTML."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from articles.rendering.math import scan

# Placeholders: private-use characters, which cmark, nh3 and the heading ids' slugify leave
# alone or drop (never turn into markup). The index is one private-use character too, so a
# heading id made from a heading holding math carries no stray letters or digits. `protect`
# drops every private-use character from the source, which also keeps the Markdown module's
# own markers (U+E002 for `<`, U+E003 for fences) out of reach of any input.
_PH_OPEN, _PH_CLOSE, _PH_BASE = "\ue000", "\ue001", 0xE100
_PH_LIMIT = 0xF8FF - _PH_BASE
_PH_CHARS = re.compile("[\ue000-\uf8ff]")
_PLACEHOLDER = re.compile(f"{_PH_OPEN}([\ue100-\uf8ff]){_PH_CLOSE}")
_TAG = re.compile(r"<[^>]*>")
_SUBSTITUTE = re.compile(
    f"<p>{_PH_OPEN}([\ue100-\uf8ff]){_PH_CLOSE}</p>|<[^>]*>|{_PLACEHOLDER.pattern}"
)

#: One formula cut out: its LaTeX without delimiters, and whether it is display math.
Formula = tuple[str, bool]


def protect(source: str) -> tuple[str, list[Formula]]:
    """Replace math by placeholders and `\\$` by an entity; code is left untouched.

    Private-use characters are dropped from the source first: no input forges a formula."""
    source = _PH_CHARS.sub("", source)
    formulas: list[Formula] = []
    parts, pos = [], 0
    for span in scan(source):
        if span.kind in ("fence", "code"):
            continue
        parts.append(source[pos : span.start])
        if span.kind == "dollar":
            parts.append("&#36;")
        elif len(formulas) >= _PH_LIMIT:  # more formulas than placeholders: keep as text
            parts.append(source[span.start : span.end])
        else:
            formulas.append((source[span.inner_start : span.inner_end], span.display))
            parts.append(_PH_OPEN + chr(_PH_BASE + len(formulas) - 1) + _PH_CLOSE)
        pos = span.end
    parts.append(source[pos:])
    return "".join(parts), formulas


def formulas_as_text_in_tags(markup: str, formulas: list[Formula]) -> str:
    """HTML from Markdown, not yet sanitised -> the same with no placeholder inside a tag.

    A placeholder inside a tag (a formula written as a link's target or title) becomes
    the formula's escaped source *before* sanitising, so the sanitiser judges the final
    attribute: `[x](\\(javascript:alert(1)\\))` loses its href like any other.
    """
    if not formulas:
        return markup
    return _TAG.sub(
        lambda tag: _PLACEHOLDER.sub(
            lambda p: html.escape(formulas[ord(p.group(1)) - _PH_BASE][0]), tag.group()
        ),
        markup,
    )


def substitute(safe: str, formulas: list[Formula], formula_html: Callable[[int], str]) -> str:
    """Sanitised HTML -> the same with each placeholder replaced by its formula's HTML
    (`formula_html(index)`, trusted) in a `math-display` or `math-inline` wrapper."""
    if not formulas:
        return safe

    def replace(m: re.Match) -> str:
        if m.group(1):  # a formula alone in a paragraph
            index = ord(m.group(1)) - _PH_BASE
            if formulas[index][1]:
                return f'<div class="math-display">{formula_html(index)}</div>'
            return f'<p><span class="math-inline">{formula_html(index)}</span></p>'
        if m.group(2):
            index = ord(m.group(2)) - _PH_BASE
            kind = "math-display" if formulas[index][1] else "math-inline"
            return f'<span class="{kind}">{formula_html(index)}</span>'
        return m.group()  # a tag: its formulas were turned into text before sanitising

    return _SUBSTITUTE.sub(replace, safe)
