"""Answer Markdown: CommonMark with GitHub's extensions (cmark-gfm), and the passes around it.

Owns Markdown -> HTML: lists, tables, autolinks, fences at any indentation, raw HTML shown
as text, heading levels and ids, rel on links that leave the site, nesting kept shallow
enough for the sanitiser. Must not sanitise or look for math: its output goes to
`sanitise.clean`, and formulas reach it as placeholders."""

from __future__ import annotations

import html
import re
import unicodedata
from itertools import accumulate
from urllib.parse import unquote, urlsplit

import cmarkgfm
from cmarkgfm.cmark import Options
from django.conf import settings

from articles.rendering.highlight import cut_fences, put_back

#: GitHub's extensions the answers use. Not `tasklist` (its checkboxes are not in the
#: allow-list) nor `tagfilter` (no raw HTML reaches the engine). Strikethrough takes `~~`
#: only: a single `~` is "about" in the corpus (`~5 kg`).
EXTENSIONS = ("table", "autolink", "strikethrough")
# Not CMARK_OPT_UNSAFE: raw HTML never reaches the engine, and links with javascript:,
# vbscript:, file: or data: targets lose them.
OPTIONS = Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE

# Raw HTML is shown as text (43 corpus answers hold `#include <cstdarg>`-like text and none
# holds intended HTML): every `<` that does not open an autolink (`<https://…>`,
# `<a@b.c>`) becomes this private-use character before parsing, and `&lt;` after. cmark's
# own code spans and code blocks need no care: the character is text there too.
_LT = "\ue002"
_RAW_LT = re.compile(
    r"<(?![A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>"
    r"|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*>)"
)
_LT_IN_URL = "%EE%80%82"  # cmark percent-encodes the character's UTF-8 bytes in a href
# A `<` that cannot open raw HTML is left to the engine: an escaped one (`\<`, after any
# escaped backslashes), `<>`, and the start of a link destination in angle brackets
# (`[a](<b c>)`, `[a]: <b c>`), as the CommonMark spec's examples write them.
_LT_OR_KEPT = re.compile(rf"\\[\\<]|<>|\]\(\s*<|\]:\s*<|{_RAW_LT.pattern}")


def _raw_lt(m: re.Match) -> str:
    return _LT if m.group() == "<" else m.group()


# A bare address that the autolink extension ran on through the character standing for `<`
# (`www.example.com/a<b`): GFM ends it at the `<`.
_AUTOLINK_THROUGH_LT = re.compile(
    rf'<a href="([^"]*?){_LT_IN_URL}[^"]*">([^<{_LT}]*){_LT}([^<]*)</a>'
)


# The elements that nest in cmark's output: block containers and emphasis. The others
# (paragraphs, headings, tables, code) hold none of their own kind, so an answer's HTML is
# at most a few levels deeper than these. cmark escapes `<` and `>` in text and attributes.
_NESTING_TAG = re.compile(r"</?(?:blockquote|ul|ol|li|em|strong|del)\b[^>]*>")
#: Elements nested deeper than this in the engine's output lose their tags (their text is
#: kept): the sanitiser's HTML parser is quadratic in nesting depth (200,000 nested block
#: quotes took 448 s). Import and the admin refuse answers deeper than MAX_NESTING_DEPTH
#: (articles.rendering.nesting) long before this.
MAX_HTML_DEPTH = 64

_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.S)
_ANCHOR = re.compile(r'<a href="([^"]*)"')
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _cap_depth(markup: str) -> str:
    """Drop the tags (never the text) of elements nested deeper than MAX_HTML_DEPTH.

    Linear: the depth after each tag of well-nested HTML (cmark's) is a running sum."""
    tags = _NESTING_TAG.findall(markup)
    steps = [-1 if tag[1] == "/" else 1 for tag in tags]
    depths = list(accumulate(steps))
    if not depths or max(depths) <= MAX_HTML_DEPTH:
        return markup
    texts = _NESTING_TAG.split(markup)
    out = [texts[0]]
    for tag, step, depth, text in zip(tags, steps, depths, texts[1:], strict=True):
        if (depth if step == 1 else depth + 1) <= MAX_HTML_DEPTH:
            out.append(tag)
        out.append(text)
    return "".join(out)


def leaves_site(href: str, own_host: str | None) -> bool:
    """True unless `href` (as written in an attribute, entities escaped) stays on this site:
    a fragment, a relative path, or an absolute path. Anything with a scheme (mailto: too)
    leaves it unless it is http(s) to our own host; so does anything a browser reads as
    another host: `//host`, and `/\\host` or `\\\\host` (browsers read `\\` as `/` and drop
    tabs and newlines in URLs)."""
    url = unquote(html.unescape(href)).replace("\\", "/")
    url = re.sub(r"[\t\n\r]", "", url).lstrip("\x00- ")
    if url.startswith("//"):
        return True
    if _SCHEME.match(url):
        parts = urlsplit(url)
        return parts.scheme.lower() not in ("http", "https") or parts.hostname != own_host
    return False


def _mark_external_links(markup: str) -> str:
    own_host = urlsplit(getattr(settings, "SITE_URL", "")).hostname

    def rel(m: re.Match) -> str:
        if leaves_site(m.group(1), own_host):
            return f'{m.group()} rel="nofollow noopener"'
        return m.group()

    return _ANCHOR.sub(rel, markup)


def slugify(text: str) -> str:
    """Heading text -> id: ASCII letters, digits, `_` and `-`, lower case (the ids
    Python-Markdown's toc extension gave, so links to a part of an answer keep working)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


#: Ids the article page gives its own elements: a heading never takes one (a heading
#: "Answer" gets `answer_1`).
PAGE_IDS = frozenset({"answer", "content", "related-heading", "site-search-q"})


def _headings(markup: str) -> str:
    """Answers sit under the page's h1 (the question), so their top heading becomes h2.

    7,152 corpus answers start at `###` and a few at `#`: shown as written, the page would
    jump from h1 to h3 (screen readers and search engines read the outline) or hold two
    h1s. Relative levels are kept; nothing goes deeper than h6. Each heading gets an id
    from its text, unique in the page (a repeated one, or one the page uses, gets `_1`,
    `_2`, ...): the same text always gives the same id, so links to a part of an answer
    and the table of contents keep working across re-renders."""
    levels = [int(level) for level in re.findall(r"<h([1-6])>", markup)]
    if not levels:
        return markup
    shift = 2 - min(levels)
    used: set[str] = set(PAGE_IDS)

    def heading(m: re.Match) -> str:
        level = min(6, int(m.group(1)) + shift)
        base = slugify(html.unescape(re.sub(r"<[^>]*>", "", m.group(2))))
        slug, n = base or "_1", 1
        while slug in used:
            slug = f"{base}_{n}"
            n += 1
        used.add(slug)
        return f'<h{level} id="{slug}">{m.group(2)}</h{level}>'

    return _HEADING.sub(heading, markup)


def to_html(text: str) -> str:
    """Markdown (math already replaced by placeholders) -> HTML, not yet sanitised.

    CommonMark 0.29 with GitHub's tables, autolinks and strikethrough, by cmark-gfm: linear
    in the length of the text, with no recursion. Fences at any indentation are highlighted
    by Pygments (`highlight`)."""
    text, blocks = cut_fences(text)
    text = _LT_OR_KEPT.sub(_raw_lt, text)
    markup = cmarkgfm.markdown_to_html_with_extensions(text, OPTIONS, list(EXTENSIONS))
    markup = _cap_depth(markup)
    if _LT in markup:
        markup = _AUTOLINK_THROUGH_LT.sub(r'<a href="\1">\2</a>' + _LT + r"\3", markup)
    markup = markup.replace(_LT_IN_URL, "%3C").replace(_LT, "&lt;")
    markup = _headings(markup)
    markup = _mark_external_links(markup)
    return put_back(markup, blocks).rstrip("\n")
