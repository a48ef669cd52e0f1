"""Answer rendering: corpus `answer` text -> Markdown source -> sanitised HTML with MathML.

Owns Markdown, LaTeX math and sanitising; must not touch the database or run per request.
Math is cut out before Markdown and bleach, and MathML re-serialised by our allow-list is put
back after sanitising (latex2mathml leaves `\\text{<script>}` unescaped)."""

from __future__ import annotations

import html
import logging
import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.etree import ElementTree as etree

import markdown
import nh3
from django.conf import settings
from latex2mathml.converter import convert_to_element
from markdown.extensions import Extension
from markdown.extensions.codehilite import CodeHilite, CodeHiliteExtension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

logger = logging.getLogger("articles.rendering")

# Bump whenever the HTML for the same source can change; stored next to the HTML so a
# re-render job can find stale rows.
RENDERER_VERSION = 4

# The key in settings.MARKDOWNIFY holding the Markdown and bleach settings for answers.
MARKDOWNIFY_KEY = "answers"

# LaTeX commands beginning with "n". In raw corpus answers `\n` is also the newline
# escape, so inside math a `\n` followed by one of these names stays a command. Measured
# over the corpus: neg 157, neq 88, nabla 33, nu 31, notin 2, not 2, nmid 1 (320 in all);
# the rest are the standard ones an editor could write next.
N_COMMANDS = frozenset(
    """
    nabla natural ne nearrow neg neq newline nexists ngeq ngeqslant ngtr ni nleftarrow
    nLeftarrow nleftrightarrow nLeftrightarrow nleq nleqslant nless nmid not notin
    nparallel nprec nrightarrow nRightarrow nsim nsubseteq nsucc nsupseteq ntriangleleft
    ntriangleright nu nvdash nVdash nwarrow nolimits noindent nonumber notag nobreak
    normalsize ncong nshortmid nsubset nsupset
    """.split()
)

_NEWLINE_ESCAPE = re.compile(r"\\n")
_LETTERS = re.compile(r"[A-Za-z]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_FENCE_OPEN = re.compile(r"( *)(`{3,}|~{3,})[ \t]*([^`\n]*?)[ \t]*$")
# One inline token the math scanner must look at: an escape, a backtick run or dollars.
_INLINE_TOKEN = re.compile(r"\\[\\$()\[\]`]|`+|\$\$|\$")

# Placeholders: private-use characters, which Markdown, bleach and toc's slugify leave
# alone or drop (never turn into markup). The index is one private-use character too, so a
# heading id made from a heading holding math carries no stray letters or digits.
_PH_OPEN, _PH_CLOSE, _PH_BASE = "\ue000", "\ue001", 0xE100
_PH_LIMIT = 0xF8FF - _PH_BASE
_PH_CHARS = re.compile("[\ue000-\uf8ff]")
_PLACEHOLDER = re.compile(f"{_PH_OPEN}([\ue100-\uf8ff]){_PH_CLOSE}")


@dataclass(frozen=True)
class RenderResult:
    html: str  # sanitised HTML fragment, safe to print with |safe
    formulas: int  # formulas converted to MathML
    fallbacks: int  # formulas that could not be converted (shown as source)


@dataclass(frozen=True)
class _Span:
    kind: str  # "fence", "code", "math", "dollar"
    start: int
    end: int
    display: bool = False
    inner_start: int = 0
    inner_end: int = 0


# --------------------------------------------------------------------------- scanning


def _fence_spans(text: str) -> list[_Span]:
    """Fenced code blocks at any indentation (the corpus indents them inside list items:
    0, 2, 3, 4, 5 and 6 spaces). An unclosed fence runs to the end, as on GitHub."""
    spans = []
    pos, n = 0, len(text)
    opened = None  # (start offset, fence char, fence length)
    while pos <= n:
        end = text.find("\n", pos)
        if end == -1:
            end = n
        line = text[pos:end]
        if opened is None:
            m = _FENCE_OPEN.fullmatch(line)
            if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
                opened = (pos, m.group(2)[0], len(m.group(2)))
        else:
            stripped = line.strip()
            if (
                stripped
                and stripped[0] == opened[1]
                and len(stripped) >= opened[2]
                and stripped == opened[1] * len(stripped)
            ):
                spans.append(_Span("fence", opened[0], end))
                opened = None
        pos = end + 1
    if opened is not None:
        spans.append(_Span("fence", opened[0], n))
    return spans


def _looks_like_prose(content: str) -> bool:
    """True for the text between two currency dollars (`$26,000 with a useful life of ...`):
    words and no sign of LaTeX. Measured on the corpus: real inline math always has a
    command, a script, an operator or at most a short run of words (`$ OE $`)."""
    if (content[0] in ",.;:!?)" or content[-1] == "(") and re.search(r"[A-Za-z]{2,}", content):
        return True  # `$6xy$, and $-3$`: the middle pair is the text between formulas
    if re.search(r"[\\^_{}=<>+*/|]", content):
        return False
    return len(re.findall(r"[A-Za-z]{2,}", content)) >= 3 or bool(
        re.match(r"\s*\d[\d,.]*\s+[A-Za-z]{2,}", content)
    )


def _find_closing_dollar(text: str, start: int, limit: int) -> int:
    """Offset of the next single, unescaped `$` in text[start:limit], or -1."""
    i = start
    while True:
        i = text.find("$", i, limit)
        if i == -1:
            return -1
        if text[i - 1] == "\\":
            i += 1
            continue
        if text.startswith("$$", i):
            return -1
        return i


def _scan(text: str) -> list[_Span]:
    """Split decoded Markdown into code, math and escaped-dollar spans (sorted, disjoint).

    Display math: `$$ … $$` and `\\[ … \\]`; inline: `\\( … \\)` and `$ … $` (spaces inside
    allowed, as in `$ A $`). None of them crosses a blank line. A single `$` is math only if
    a closing `$` follows on the same line, not followed by a digit (`$4 and a pen $2`) and
    not enclosing prose (`_looks_like_prose`). Code spans and fences are never math.
    """
    fences = _fence_spans(text)
    spans: list[_Span] = list(fences)
    segments, pos = [], 0
    for f in fences:
        segments.append((pos, f.start))
        pos = f.end
    segments.append((pos, len(text)))

    for seg_start, seg_end in segments:
        i = seg_start
        while True:
            m = _INLINE_TOKEN.search(text, i, seg_end)
            if not m:
                break
            tok, i = m.group(), m.start()
            blank = _BLANK_LINE.search(text, i, seg_end)
            limit = blank.start() if blank else seg_end
            if tok == "\\$":
                spans.append(_Span("dollar", i, i + 2))
                i += 2
            elif tok in ("\\(", "\\["):
                close = text.find("\\)" if tok == "\\(" else "\\]", i + 2, limit)
                if close != -1 and text[i + 2 : close].strip():
                    spans.append(
                        _Span("math", i, close + 2, tok == "\\[", i + 2, close)
                    )
                    i = close + 2
                else:
                    i += 2
            elif tok[0] == "\\":
                i += 2
            elif tok[0] == "`":
                close = text.find(tok, i + len(tok), limit)
                while close != -1 and text.startswith("`", close + len(tok)):
                    close = text.find(tok, close + len(tok) + 1, limit)
                if close != -1 and text[close - 1] != "`":
                    spans.append(_Span("code", i, close + len(tok)))
                    i = close + len(tok)
                else:
                    i += len(tok)
            elif tok == "$$":
                close = i + 2
                while True:
                    close = text.find("$$", close, limit)
                    if close == -1 or text[close - 1] != "\\":
                        break
                    close += 1
                if close != -1 and text[i + 2 : close].strip():
                    spans.append(_Span("math", i, close + 2, True, i + 2, close))
                    i = close + 2
                else:
                    i += 2
            else:
                eol = text.find("\n", i, limit)
                close = _find_closing_dollar(text, i + 1, limit if eol == -1 else eol)
                content = text[i + 1 : close] if close != -1 else ""
                if (
                    close != -1
                    and content.strip()
                    and not text[close + 1 : close + 2].isdigit()
                    and not _looks_like_prose(content)
                ):
                    spans.append(_Span("math", i, close + 1, False, i + 1, close))
                    i = close + 1
                else:
                    i += 1
    spans.sort(key=lambda s: s.start)
    return spans


# --------------------------------------------------------------------------- decoding


def _in_string_literal(line: str) -> bool:
    """True when a code line so far has an open double-quoted string (`printf("%d`), so a
    `\\n` there is C's escape, not a line break. Triple quotes are docstrings, not strings."""
    line = line.replace('"""', "").replace('\\"', "")
    return line.count('"') % 2 == 1


def decode_answer(raw: str) -> str:
    """Corpus `answer` (newlines written as backslash + n, no real newline) -> Markdown.

    Each two-character `\\n` becomes a newline, except:
    - inside math, when it begins a LaTeX command of `N_COMMANDS` (`$q \\neq 0$`); but right
      after an opening `$$` / `\\[` whose closing delimiter stands on its own line it is a
      line break (`$$\\nu(t) = …\\n$$` is u(t), measured in 5 corpus files), while
      `$$\\nabla f$$` keeps the command;
    - inside a fenced block, within an open double-quoted string or between single quotes
      (`printf("%d\\n", a)`, `'\\n'`): 78 corpus code lines need this; and always inside
      an inline code span.
    Only `\\n` pairs ever change, so `encode_answer` inverts this exactly. Never raises.
    """
    raw = raw.replace("\r\n", "\n")
    hits = [m.start() for m in _NEWLINE_ESCAPE.finditer(raw)]
    if not hits:
        return raw
    # First guess: any `\n` that spells a known command is kept; then look at where each
    # one lands (math, code, text) and settle it. Two passes suffice in the corpus; the
    # loop stops as soon as nothing changes.
    keep = [_LETTERS.match(raw, h + 1).group() in N_COMMANDS for h in hits]
    for _ in range(4):
        decoded, offsets = _apply_decisions(raw, hits, keep)
        new_keep = _settle(raw, decoded, hits, offsets, keep)
        if new_keep == keep:
            break
        keep = new_keep
    return decoded


def _apply_decisions(raw: str, hits: list[int], keep: list[bool]) -> tuple[str, list[int]]:
    parts, offsets, pos, shift = [], [], 0, 0
    for h, k in zip(hits, keep):
        parts.append(raw[pos:h])
        offsets.append(h - shift)
        if k:
            parts.append("\\n")
        else:
            parts.append("\n")
            shift += 1
        pos = h + 2
    parts.append(raw[pos:])
    return "".join(parts), offsets


def _settle(raw, decoded, hits, offsets, keep) -> list[bool]:
    spans = _scan(decoded)
    result = []
    si = 0
    for h, off in zip(hits, offsets):
        while si < len(spans) and spans[si].end <= off:
            si += 1
        span = spans[si] if si < len(spans) and spans[si].start <= off else None
        name = _LETTERS.match(raw, h + 1).group()
        if span is None or span.kind == "dollar":
            result.append(False)
        elif span.kind == "math":
            if name not in N_COMMANDS:
                result.append(False)
            elif (
                off == span.inner_start
                and span.display
                and decoded[span.inner_end - 1 : span.inner_end] == "\n"
            ):
                result.append(False)
            else:
                result.append(True)
        elif span.kind == "code":
            # Inline code holding `\n` shows the escape (`-printf '%p\n'`, 3 in the corpus).
            result.append(True)
        else:
            line_start = decoded.rfind("\n", span.start, off) + 1 or span.start
            line = decoded[line_start:off]
            char_literal = line.endswith("'") and raw.startswith("'", h + 2)
            result.append(_in_string_literal(line) or char_literal)
    return result


def encode_answer(source: str) -> str:
    """Markdown source -> corpus `answer` form: each newline becomes backslash + n.

    Exact inverse of `decode_answer` for corpus answers (they hold no real newline)."""
    return source.replace("\r\n", "\n").replace("\n", "\\n")


# --------------------------------------------------------------------------- math


_MATHML_TAGS = frozenset(
    """
    math mrow mi mn mo ms mtext mspace msup msub msubsup mfrac msqrt mroot mover munder
    munderover mtable mtr mtd mlabeledtr mstyle mpadded menclose mphantom merror
    mmultiscripts mprescripts none semantics annotation
    """.split()
)
# Presentation attributes only: no href, style, class, id or event handler ever passes.
_MATHML_ATTRS = frozenset(
    """
    display mathvariant stretchy fence form separator lspace rspace minsize maxsize
    largeop movablelimits accent accentunder linethickness displaystyle scriptlevel
    columnalign columnspacing columnlines rowalign rowspacing rowlines frame framespacing
    notation width height depth voffset linebreak symmetric mathcolor mathbackground
    """.split()
)
_SAFE_ATTR_VALUE = re.compile(r"[\w .,:%#+-]*")
_UNKNOWN_COMMAND = re.compile(r"\\[A-Za-z]+")
_ENV_RENAMES = {
    # latex2mathml 3.81 knows align* but not aligned (6 corpus files use it); gather and
    # equation become what a reader expects to see.
    "aligned": "align*",
    "align": "align*",
    "alignat": "align*",
    "alignedat": "align*",
    "gather": "array}{c",
    "gather*": "array}{c",
    "gathered": "array}{c",
}
_BEGIN_END = re.compile(r"\\(begin|end)\{(aligned|align|alignat|alignedat|gather\*?|gathered)\}")
_EQUATION = re.compile(r"\\(?:begin|end)\{equation\*?\}")


class FormulaError(ValueError):
    """A formula latex2mathml cannot turn into MathML we trust."""


_CE = re.compile(r"\\ce\{((?:[^{}]|\{[^{}]*\})*)\}")
_CE_ARROWS = {"->": "\\rightarrow", "<-": "\\leftarrow", "<=>": "\\rightleftharpoons", "+": "+"}
_CE_PART = re.compile(
    r"(?P<state>\((?:s|l|g|aq)\))|(?P<word>[A-Z][a-z]?|[a-z]+)|(?P<count>\d+)"
    r"|(?P<charge>[+-]$)|(?P<other>\^\{[^{}]*\}|[_^]\S|.)"
)


def _chem_species(token: str) -> str:
    coefficient = re.match(r"\d*", token).group()
    out, after_atom = [coefficient], False
    for m in _CE_PART.finditer(token[len(coefficient) :]):
        if m.group("state"):
            out.append(f"\\mathrm{{{m.group()}}}")
        elif m.group("word"):
            out.append(f"\\mathrm{{{m.group()}}}")
        elif m.group("count"):
            out.append(f"_{{{m.group()}}}" if after_atom else m.group())
        elif m.group("charge"):
            out.append(f"^{{{m.group()}}}")
        else:
            out.append(m.group())
        after_atom = bool(m.group("word")) or m.group() in (")", "]")
    return "".join(out)


def _chem(m: re.Match) -> str:
    """A small subset of mhchem's \\ce{} (41 corpus uses: formulas, charges, states,
    arrows), which latex2mathml lacks."""
    return " ".join(
        _CE_ARROWS.get(token) or _chem_species(token) for token in m.group(1).split()
    )


def _prepare_latex(latex: str, display: bool) -> str:
    """Small, general fixes before latex2mathml; each is a construct the corpus uses."""
    latex = _EQUATION.sub("", latex)
    latex = _CE.sub(_chem, latex)
    # latex2mathml 3.81 lacks \arg (k-means' arg min in the corpus).
    latex = re.sub(r"\\arg(?![A-Za-z])", r"\\operatorname{arg}", latex)

    def rename(m):
        name = _ENV_RENAMES[m.group(2)]
        if m.group(1) == "end" and name.startswith("array"):
            name = "array"
        return f"\\{m.group(1)}{{{name}}}"

    latex = _BEGIN_END.sub(rename, latex)
    latex = latex.replace("\\newline", "\\\\")
    if display and "\\\\" in latex and "\\begin" not in latex:
        # Rows split by `\\` at top level (e.g. `F_x = … \\ F_y = …`): MathML Core has no
        # line breaking, so make them table rows; `&` marks alignment points.
        env = "align*" if "&" in latex else "array}{c"
        end = "align*" if "&" in latex else "array"
        latex = f"\\begin{{{env}}}{latex}\\end{{{end}}}"
    return latex


def _serialise(element: etree.Element, out: list[str]) -> None:
    tag = element.tag
    if tag not in _MATHML_TAGS:
        raise FormulaError(f"element {tag!r}")
    attrs = "".join(
        f' {name}="{html.escape(value)}"'
        for name, value in sorted(element.attrib.items())
        if name in _MATHML_ATTRS and _SAFE_ATTR_VALUE.fullmatch(value)
    )
    out.append(f"<{tag}{attrs}>")
    if element.text:
        out.append(_mathml_text(element.text, tag))
    for child in element:
        _serialise(child, out)
        if child.tail:
            out.append(_mathml_text(child.tail, tag))
    out.append(f"</{tag}>")


def _mathml_text(text: str, tag: str) -> str:
    # latex2mathml writes symbols as `&#x…;` text and passes \text{} through unescaped:
    # resolve the references, then escape everything, so no markup can come from a formula.
    text = html.unescape(text)
    if tag != "mtext" and _UNKNOWN_COMMAND.search(text):
        raise FormulaError(f"unknown command {text!r}")
    return html.escape(text, quote=False)


def latex_to_mathml(latex: str, display: bool) -> str:
    """LaTeX (without delimiters) -> one `<math>` element as trusted HTML text.

    Raises FormulaError when latex2mathml fails or emits an unknown command (`\\ce{…}`)."""
    try:
        element = convert_to_element(
            _prepare_latex(latex, display), display="block" if display else "inline"
        )
    except Exception as exc:  # latex2mathml raises many types, all meaning "cannot convert"
        raise FormulaError(str(exc) or type(exc).__name__) from exc
    element.attrib.pop("xmlns", None)
    out: list[str] = []
    _serialise(element, out)
    return "".join(out)


# --------------------------------------------------------------------------- Markdown


class _FencePreprocessor(Preprocessor):
    """Fenced code at any indentation, so fences inside list items work (Python-Markdown's
    fenced_code only sees column 0). Highlights with the codehilite extension's settings
    and leaves a stash placeholder at the fence's own indentation."""

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        spans = _fence_spans(text)
        if not spans:
            return lines
        config = {"css_class": "highlight", "guess_lang": False}
        for ext in self.md.registeredExtensions:
            if isinstance(ext, CodeHiliteExtension):
                config = ext.getConfigs()
        out, pos = [], 0
        for span in spans:
            block = text[span.start : span.end].split("\n")
            m = _FENCE_OPEN.fullmatch(block[0])
            indent, fence = m.group(1), m.group(2)
            lang = (m.group(3).split() or [""])[0].lstrip(".") or None
            body = block[1:]
            if body and body[-1].strip().startswith(fence[0] * 3) and len(block) > 1:
                body = body[:-1]
            body = [
                line[len(indent) :] if line.startswith(indent) else line.lstrip(" ")
                for line in body
            ]
            options = dict(config)
            options.pop("pygments_style", None)
            code = CodeHilite("\n".join(body) + "\n", lang=lang, **options).hilite(
                shebang=False
            )
            out.append(text[pos : span.start])
            out.append(f"\n{indent}{self.md.htmlStash.store(code)}\n")
            pos = span.end
        out.append(text[pos:])
        return "".join(out).split("\n")


_LIST_START = re.compile(r" *(?:[-*+]|1[.)]) +\S")
_LIST_ITEM = re.compile(r" *(?:[-*+]|\d+[.)]) +\S")


class _ListInterruptPreprocessor(Preprocessor):
    """A bullet (or `1.`) list right under a paragraph line starts a list, as on GitHub;
    Python-Markdown needs a blank line first (1,778 corpus files lack it)."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        for line in lines:
            if (
                out
                and out[-1].strip()
                and _LIST_START.match(line)
                and not _LIST_ITEM.match(out[-1])
                and not out[-1].lstrip().startswith("|")
            ):
                out.append("")
            out.append(line)
        return out


class _ExternalLinkTreeprocessor(Treeprocessor):
    """External links (http/https to another host) get rel="nofollow noopener"."""

    def run(self, root):
        own_host = urlsplit(getattr(settings, "SITE_URL", "")).hostname
        for a in root.iter("a"):
            parts = urlsplit(a.get("href", ""))
            if parts.scheme in ("http", "https") and parts.hostname != own_host:
                a.set("rel", "nofollow noopener")


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


class _HeadingLevelTreeprocessor(Treeprocessor):
    """Answers sit under the page's h1 (the question), so their top heading becomes h2.

    7,152 corpus answers start at `###` and a few at `#`: shown as written, the page would
    jump from h1 to h3 (screen readers and search engines read the outline) or hold two
    h1s. Relative levels are kept; nothing goes deeper than h6.
    """

    def run(self, root):
        headings = [el for el in root.iter() if el.tag in _HEADINGS]
        if not headings:
            return
        shift = 2 - min(int(el.tag[1]) for el in headings)
        if shift:
            for el in headings:
                el.tag = f"h{min(6, int(el.tag[1]) + shift)}"


class AnswerExtension(Extension):
    """Python-Markdown extension for answers: fences anywhere, GitHub-like list starts,
    raw HTML shown as text (43 corpus answers hold `#include <cstdarg>`-like text and none
    holds intended HTML), rel on external links."""

    def extendMarkdown(self, md):
        md.registerExtension(self)
        # Raw HTML is escaped, never passed: `<cstdarg>` must stay visible.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.preprocessors.register(_FencePreprocessor(md), "answer_fences", 26)
        md.preprocessors.register(_ListInterruptPreprocessor(md), "answer_lists", 24)
        md.treeprocessors.register(_ExternalLinkTreeprocessor(md), "answer_links", 1)
        # Before toc (priority 5): heading ids are made from the final outline.
        md.treeprocessors.register(_HeadingLevelTreeprocessor(md), "answer_headings", 6)


def makeExtension(**kwargs):  # Python-Markdown's loader hook
    return AnswerExtension(**kwargs)


_local = threading.local()


def _markdown_settings() -> dict:
    return settings.MARKDOWNIFY.get(MARKDOWNIFY_KEY, {})


def _tools():
    """One Markdown instance and one nh3 allow-list per thread, from the markdownify settings.

    django-markdownify's function builds Markdown and a bleach Cleaner on every call and
    sanitises with bleach's pure-Python parser. Measured on 600 corpus answers, bleach
    takes 3.6 ms an answer and nh3 (the Rust sanitiser ammonia) 0.27 ms with the same
    allow-list, so answers are sanitised by nh3 from the very same settings
    (WHITELIST_TAGS, WHITELIST_ATTRS, WHITELIST_PROTOCOLS). tests/test_rendering.py shows
    the two give the same DOM on every case and on a corpus sample.
    """
    conf = _markdown_settings()
    key = id(conf)
    tools = getattr(_local, "tools", None)
    if tools is None or tools[0] != key:
        md = markdown.Markdown(
            extensions=conf.get("MARKDOWN_EXTENSIONS", []),
            extension_configs=conf.get("MARKDOWN_EXTENSION_CONFIGS", {}),
        )
        allow_list = {
            "tags": set(conf.get("WHITELIST_TAGS", ())),
            "attributes": {
                tag: set(names) for tag, names in conf.get("WHITELIST_ATTRS", {}).items()
            },
            "url_schemes": set(conf.get("WHITELIST_PROTOCOLS", ())),
            # rel is set by our own tree processor on external links only.
            "link_rel": None,
            "strip_comments": True,
        }
        tools = _local.tools = (key, md, allow_list)
    return tools[1], tools[2]


_TAG = re.compile(r"<[^>]*>")


def _markdown_to_safe_html(text: str, formulas=()) -> str:
    """Markdown -> sanitised HTML, math placeholders left in place for MathML.

    A placeholder inside a tag (a formula written as a link's target or title) becomes
    the formula's escaped source *before* sanitising, so the sanitiser judges the final
    attribute: `[x](\\(javascript:alert(1)\\))` loses its href like any other.
    """
    md, allow_list = _tools()
    md.reset()
    markup = md.convert(text)
    if formulas:
        markup = _TAG.sub(
            lambda tag: _PLACEHOLDER.sub(
                lambda p: html.escape(formulas[ord(p.group(1)) - _PH_BASE][0]), tag.group()
            ),
            markup,
        )
    return nh3.clean(markup, **allow_list)


# --------------------------------------------------------------------------- rendering


def _protect(source: str) -> tuple[str, list[tuple[str, bool]]]:
    """Replace math by placeholders and `\\$` by an entity; code is left untouched."""
    formulas: list[tuple[str, bool]] = []
    parts, pos = [], 0
    for span in _scan(source):
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


_SUBSTITUTE = re.compile(
    f"<p>{_PH_OPEN}([\ue100-\uf8ff]){_PH_CLOSE}</p>|<[^>]*>|{_PLACEHOLDER.pattern}"
)


def render_markdown(source: str) -> RenderResult:
    """Decoded Markdown (the stored Article.answer) -> RenderResult with sanitised HTML.

    Math becomes MathML: display math in `<div class="math-display">` (alone in its
    paragraph) or `<span class="math-display">`, inline math in `<span class="math-inline">`;
    the wrappers let wide formulas scroll. A formula latex2mathml cannot convert is shown
    as its escaped source in `<code class="math-fallback">`, counted and logged. Never
    raises for any input string; the output depends on the input and settings only.
    """
    text, formulas = _protect(_PH_CHARS.sub("", source or ""))
    safe = _markdown_to_safe_html(text, formulas)
    rendered: dict[int, str] = {}
    counts = [0, 0]

    def formula_html(index: int) -> str:
        if index not in rendered:
            latex, display = formulas[index]
            try:
                mathml = latex_to_mathml(latex.strip(), display)
                counts[0] += 1
            except FormulaError as exc:
                counts[1] += 1
                logger.warning("formula shown as source (%s): %.200s", exc, latex)
                delimiter = "$$" if display else "$"
                mathml = (
                    f'<code class="math-fallback">'
                    f"{html.escape(delimiter + latex + delimiter)}</code>"
                )
            rendered[index] = mathml
        return rendered[index]

    def substitute(m: re.Match) -> str:
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

    body = _SUBSTITUTE.sub(substitute, safe)
    return RenderResult(html=body, formulas=counts[0], fallbacks=counts[1])


def render_answer(raw: str) -> RenderResult:
    """Corpus `answer` text -> RenderResult: render_markdown(decode_answer(raw))."""
    return render_markdown(decode_answer(raw))
