"""Fenced code blocks at any indentation, cut out before Markdown and highlighted by Pygments.

Owns turning each fence into highlighted HTML and the marker that holds its place through
the Markdown engine. Finding the fences is the math scanner's (`fence_spans`), so math and
code agree on where code is; must not run Markdown or sanitise."""

from __future__ import annotations

import html
import re

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

from articles.rendering.math import FENCE_OPEN, fence_spans

# A fence's marker is an empty tilde fence whose info string is this private-use character
# and the fence's number: the engine keeps it as a fenced block of its own (a fence may
# interrupt a paragraph, as the author's fence did), and `put_back` finds it in the HTML.
_MARK = "\ue003"
_MARKERS = re.compile(
    # The usual case: an empty code block whose language is the marker.
    rf'<pre><code class="language-{_MARK}(\d+)"></code></pre>'
    # Indented 4+ columns past its list item's text: an indented code block holding it.
    rf"|<pre><code>~~~ {_MARK}(\d+)\n~~~\n</code></pre>"
    # Under a paragraph line and indented 4+ columns: the paragraph's last lines.
    rf"|\n~~~ {_MARK}(\d+)\n *~~~(</p>)"
    # Anything else the engine did with it.
    rf"|(?:~~~ )?{_MARK}(\d+)(?:\n *~~~)?"
)


# A code block cmark made itself: indented code, or a fence it found where the math scanner
# does not look (inside a block quote). Its text is escaped and holds no `<`.
_ENGINE_BLOCK = re.compile(r'<pre><code(?: class="language-([^"]*)")?>(.*?)</code></pre>', re.S)


def _highlight(code: str, lang: str | None) -> str:
    """Code -> `<div class="highlight"><pre><span></span><code>…` with Pygments' token
    spans (the markup Python-Markdown's codehilite gave, so the site's CSS is unchanged).
    An unknown or missing language is plain text; tabs are kept as written."""
    if not code:
        return '<div class="highlight"><pre><span></span><code></code></pre></div>\n'
    # Blank lines at either end are the author's (CommonMark keeps them); Pygments would
    # strip them.
    try:
        lexer = get_lexer_by_name(lang, stripnl=False) if lang else TextLexer(stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    formatter = HtmlFormatter(cssclass="highlight", wrapcode=True)
    return highlight(code, lexer, formatter)


def cut_fences(text: str) -> tuple[str, list[str]]:
    """Decoded Markdown -> (the same with each fence replaced by its marker, the HTML of
    each fence in order).

    A fence may open at any indentation (the corpus indents them in list items by 0 to 6
    spaces) or right after a list item's marker; its lines lose the indentation up to the
    fence's column. An unclosed fence runs to the end, as on GitHub. The marker keeps the
    fence's own indentation (and list marker), so it stays in the list item the author put
    it in.
    """
    spans = fence_spans(text)
    if not spans:
        return text, []
    blocks: list[str] = []
    out, pos = [], 0
    for span in spans:
        lines = text[span.start : span.end].split("\n")
        m = FENCE_OPEN.fullmatch(lines[0])
        prefix, fence = m.group(1), m.group(2)
        indent = " " * len(prefix)
        lang = (m.group(3).split() or [""])[0].lstrip(".") or None
        body = lines[1:]
        if body and body[-1].strip().startswith(fence[0] * 3):
            body = body[:-1]
        elif body and not body[-1] and span.end == len(text):
            body = body[:-1]  # unclosed: the answer's last newline ends the code's last line
        body = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip(" ") for line in body
        ]
        blocks.append(_highlight("".join(line + "\n" for line in body), lang))
        out.append(text[pos : span.start])
        out.append(f"{prefix}~~~ {_MARK}{len(blocks) - 1}\n{indent}~~~")
        pos = span.end
    out.append(text[pos:])
    return "".join(out), blocks


def put_back(markup: str, blocks: list[str]) -> str:
    """HTML from the engine -> the same with each fence's marker replaced by its HTML, and
    the code blocks the engine made itself highlighted the same way."""
    if "<pre><code" in markup:
        markup = _ENGINE_BLOCK.sub(
            lambda m: (
                m.group()
                if (m.group(1) or "").startswith(_MARK) or m.group(2).startswith(f"~~~ {_MARK}")
                else _highlight(html.unescape(m.group(2)), html.unescape(m.group(1) or "") or None)
            ),
            markup,
        )
    if not blocks:
        return markup

    def block(m: re.Match) -> str:
        index = int(next(g for g in m.groups() if g is not None))
        code = blocks[index] if index < len(blocks) else ""
        return f"</p>\n{code}" if m.group(4) else code

    return _MARKERS.sub(block, markup)
