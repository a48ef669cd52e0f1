"""Math in answers: where it is in decoded Markdown, and LaTeX -> MathML we trust.

Owns the span scanner (math, code spans, fences, escaped dollars), LaTeX preparation and
the MathML allow-list. Pure: no Django, no Markdown, no HTML outside a `<math>` element;
it must not decide how formulas are placed in a page or count them."""

from __future__ import annotations

import functools
import html
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from xml.etree import ElementTree as etree

from latex2mathml.converter import convert_to_element

# An opening fence line: its indentation and the marker of a list item it opens, if any
# (`- ```` and `1. ```` start an item with a fence), the fence (3+ backticks or tildes), the
# info string (with the spaces around it: one greedy group, so a long line costs one pass;
# a backtick fence's may hold no backtick, a tilde fence's may).
FENCE_OPEN = re.compile(r"( *(?:(?:[-+*]|\d{1,9}[.)]) {1,4})?)(`{3,}|~{3,})([^\n]*)")
# One inline token the math scanner must look at: an escape, a backtick run or dollars.
# Written to begin with one character class, which lets the regular expression engine skip
# to the next candidate character at once (four times faster than an alternation).
_INLINE_TOKEN = re.compile(r"[\\`$](?:(?<=\\)[\\$()\[\]`]|(?<=`)`*|(?<=\$)\$?)")


@dataclass(frozen=True)
class Span:
    """One run of `scan`'s text; for math, inner_start:inner_end is the formula alone."""

    kind: str  # "fence", "code", "math", "dollar"
    start: int
    end: int
    display: bool = False
    inner_start: int = 0
    inner_end: int = 0


# --------------------------------------------------------------------------- scanning


def fence_spans(text: str) -> list[Span]:
    """Fenced code blocks at any indentation (the corpus indents them inside list items:
    0, 2, 3, 4, 5 and 6 spaces). An unclosed fence runs to the end, as on GitHub."""
    if "```" not in text and "~~~" not in text:
        return []
    spans = []
    pos, n = 0, len(text)
    opened = None  # (start offset, fence char, fence length)
    while pos <= n:
        end = text.find("\n", pos)
        if end == -1:
            end = n
        line = text[pos:end]
        if opened is None:
            m = FENCE_OPEN.fullmatch(line)
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
                spans.append(Span("fence", opened[0], end))
                opened = None
        pos = end + 1
    if opened is not None:
        spans.append(Span("fence", opened[0], n))
    return spans


_WORD = re.compile(r"[A-Za-z]{2,}")
_LATEX_SIGN = re.compile(r"[\\^_{}=<>+*/|]")
_AMOUNT_THEN_WORD = re.compile(r"\s*\d[\d,.]*\s+[A-Za-z]{2,}")


def _looks_like_prose(content: str) -> bool:
    """True for the text between two currency dollars (`$26,000 with a useful life of ...`):
    words and no sign of LaTeX. Measured on the corpus: real inline math always has a
    command, a script, an operator or at most a short run of words (`$ OE $`)."""
    if (content[0] in ",.;:!?)" or content[-1] == "(") and _WORD.search(content):
        return True  # `$6xy$, and $-3$`: the middle pair is the text between formulas
    if _LATEX_SIGN.search(content):
        return False
    return len(_WORD.findall(content)) >= 3 or bool(_AMOUNT_THEN_WORD.match(content))


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


class _Positions:
    """Sorted offsets of one kind of mark in a text, for "the first one in [a, b)" lookups
    in O(log n): the scanner never searches ahead in the text, so it is linear."""

    def __init__(self, offsets):
        self.offsets = list(offsets)

    def first(self, start: int, limit: int) -> int:
        """The first offset o with start <= o < limit, or -1."""
        k = bisect_left(self.offsets, start)
        if k < len(self.offsets) and self.offsets[k] < limit:
            return self.offsets[k]
        return -1


#: A table of no offsets, for marks a text does not hold.
_NONE = _Positions(())
# The first "$" of each "$$" (overlapping: "$$$" gives two), found without a look-behind,
# which would be tried at every offset of the text.
_DOUBLE_DOLLAR = re.compile(r"\$(?=\$)")


def _marks(pattern: str, text: str) -> _Positions:
    return _Positions(m.start() for m in re.finditer(pattern, text))


def scan(text: str) -> list[Span]:
    """The spans of ``text`` (see _scan): a new list each call, of spans read once.

    An answer is scanned three times on its way in (settling its newlines, measuring its
    nesting, cutting out its formulas), each time as the same text: the last few texts'
    spans are kept, which saves two of the three on import.
    """
    return list(_scan(text))


@functools.lru_cache(maxsize=8)
def _scan(text: str) -> tuple[Span, ...]:
    """Split decoded Markdown into code, math and escaped-dollar spans (sorted, disjoint).

    Display math: `$$ … $$` and `\\[ … \\]`; inline: `\\( … \\)` and `$ … $` (spaces inside
    allowed, as in `$ A $`). None of them crosses a blank line. A single `$` is math only if
    a closing `$` follows on the same line, not followed by a digit (`$4 and a pen $2`) and
    not enclosing prose (`_looks_like_prose`). Code spans and fences are never math; a code
    span closes at the next backtick run of the same length (CommonMark).

    Time is linear in len(text) (times a log): every closing mark is looked up in a sorted
    table of its offsets, built once, instead of searched for from each opening.
    """
    fences = fence_spans(text)
    spans: list[Span] = list(fences)
    segments, pos = [], 0
    for f in fences:
        segments.append((pos, f.start))
        pos = f.end
    segments.append((pos, len(text)))

    # Each table is built only when its mark occurs at all: most answers hold no code and
    # no display math, and a search for what is absent still reads the whole text.
    blank_lines = _marks(r"\n[ \t]*\n", text)
    newlines = _marks(r"\n", text)
    closers = {
        "\\(": _marks(r"\\\)", text) if "\\)" in text else _NONE,
        "\\[": _marks(r"\\\]", text) if "\\]" in text else _NONE,
    }
    # Every "$$" not preceded by a backslash, overlapping ones included ("$$$" holds two).
    double_dollars = (
        _Positions(
            m.start()
            for m in _DOUBLE_DOLLAR.finditer(text)
            if not (m.start() and text[m.start() - 1] == "\\")
        )
        if "$$" in text
        else _NONE
    )
    runs_by_length: dict[int, list[int]] = {}
    for m in re.finditer(r"`+", text) if "`" in text else ():
        runs_by_length.setdefault(len(m.group()), []).append(m.start())
    backtick_runs = {length: _Positions(starts) for length, starts in runs_by_length.items()}

    for seg_start, seg_end in segments:
        i = seg_start
        while True:
            m = _INLINE_TOKEN.search(text, i, seg_end)
            if not m:
                break
            tok, i = m.group(), m.start()
            blank = blank_lines.first(i, seg_end)
            limit = blank if blank != -1 else seg_end
            if tok == "\\$":
                spans.append(Span("dollar", i, i + 2))
                i += 2
            elif tok in ("\\(", "\\["):
                close = closers[tok].first(i + 2, limit - 1)
                if close != -1 and text[i + 2 : close].strip():
                    spans.append(Span("math", i, close + 2, tok == "\\[", i + 2, close))
                    i = close + 2
                else:
                    i += 2
            elif tok[0] == "\\":
                i += 2
            elif tok[0] == "`":
                n = len(tok)
                runs = backtick_runs.get(n)  # none after an escaped backtick cut the run
                close = runs.first(i + n, limit - n + 1) if runs else -1
                if close != -1:
                    spans.append(Span("code", i, close + n))
                    i = close + n
                else:
                    i += n
            elif tok == "$$":
                close = double_dollars.first(i + 2, limit - 1)
                if close != -1 and text[i + 2 : close].strip():
                    spans.append(Span("math", i, close + 2, True, i + 2, close))
                    i = close + 2
                else:
                    i += 2
            else:
                eol = newlines.first(i, limit)
                close = _find_closing_dollar(text, i + 1, limit if eol == -1 else eol)
                content = text[i + 1 : close] if close != -1 else ""
                if (
                    close != -1
                    and content.strip()
                    and not text[close + 1 : close + 2].isdigit()
                    and not _looks_like_prose(content)
                ):
                    spans.append(Span("math", i, close + 1, False, i + 1, close))
                    i = close + 1
                else:
                    i += 1
    spans.sort(key=lambda s: s.start)
    return tuple(spans)


# --------------------------------------------------------------------------- LaTeX -> MathML


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
# A matrix with delimiters becomes a plain matrix between \left and \right: latex2mathml
# writes the bars of vmatrix as bare `<mo>|</mo>` in the surrounding row, where the left one
# is an infix operator that does not stretch (`\det A = \begin{vmatrix}…`).
_MATRIX_FENCES = {
    "p": ("(", ")"),
    "b": ("[", "]"),
    "B": ("\\{", "\\}"),
    "v": ("|", "|"),
    "V": ("\\|", "\\|"),
}
_FENCED_MATRIX = re.compile(r"\\(begin|end)\{([pbBvV])matrix(\*?)\}")
# In display math these take their limits under (and over) them, as in TeX; latex2mathml puts
# them beside. `\limits` and `\nolimits` written by the author are kept.
_LIMIT_WORDS = re.compile(r"\\(lim|max|min|sup|inf)(?![A-Za-z])(?!\s*\\(?:no)?limits)")
_BIG_OPERATORS = re.compile(
    r"\\(bigcup|bigcap|bigsqcup|biguplus|bigoplus|bigotimes|bigodot|bigvee|bigwedge|coprod)"
    r"(?![A-Za-z])(?!\s*\\(?:no)?limits)"
)
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
    return " ".join(_CE_ARROWS.get(token) or _chem_species(token) for token in m.group(1).split())


def _fenced_matrix(m: re.Match) -> str:
    left, right = _MATRIX_FENCES[m.group(2)]
    if m.group(1) == "begin":
        return f"\\left{left}\\begin{{matrix{m.group(3)}}}"
    return f"\\end{{matrix{m.group(3)}}}\\right{right}"


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
    latex = _FENCED_MATRIX.sub(_fenced_matrix, latex)
    if display:
        # \operatorname* marks the word movablelimits; _refine puts its scripts under it.
        latex = _LIMIT_WORDS.sub(r"\\operatorname*{\1}", latex)
        latex = _BIG_OPERATORS.sub(r"\\\1\\limits", latex)
    latex = latex.replace("\\newline", "\\\\")
    if display and "\\\\" in latex and "\\begin" not in latex:
        # Rows split by `\\` at top level (e.g. `F_x = … \\ F_y = …`): MathML Core has no
        # line breaking, so make them table rows; `&` marks alignment points.
        env = "align*" if "&" in latex else "array}{c"
        end = "align*" if "&" in latex else "array"
        latex = f"\\begin{{{env}}}{latex}\\end{{{end}}}"
    return latex


# Symbols latex2mathml writes as identifiers (`<mi>`) that TeX and KaTeX space as binary
# operators, relations or fences: as `<mo>` the browser gives them operator spacing (and
# stretching, for fences). \sim comes out as a tilde; it is U+223C TILDE OPERATOR.
_OPERATOR_SYMBOLS = {
    **{c: c for c in "±&•⧵⨿†‡◁▷¬⟂⟹⟺:⟨⟩⌊⌋⌈⌉⨁⨆"},
    "~": "\u223c",
}
# Marks latex2mathml writes over a base for \bar \dot \ddot \hat \tilde \check \acute
# \grave \breve \mathring \dddot \ddddot; \vec is its stretchy arrow (a plain arrow is
# \overrightarrow or \overset, which stay as they are).
_ACCENT_MARKS = frozenset("\u00af\u02d9\u00a8^~\u02c7\u00b4`\u02d8\u02da\u20db\u20dc")
_VECTOR_ARROW = "\u2192"
# latex2mathml draws \overline and \underline with U+2015 and no stretching; KaTeX writes a
# stretchy U+203E, an accent in MathML Core's operator dictionary. (U+0332 stretches in the
# TeX Gyre math fonts, but Chromium 156 leaves its stretched form unpainted at some offsets.)
_LINE_MARK = "\u2015"
_STRETCHY_LINE = "\u203e"
_SCRIPTS_UNDER = {"msub": "munder", "msup": "mover", "msubsup": "munderover"}
# A bar written without \left or \right (`|x|`, `P(A|B)`, `\|v\|`) is an ordinary symbol
# in TeX and KaTeX. latex2mathml makes it a non-stretchy `<mo>`, which the browser spaces by
# its place in the row: `|A| = 1` read `|A | = 1`, with space inside one bar only.
_BARS = frozenset("|\u2016")
_PLAIN_BAR_ATTRIBUTES = {"stretchy": "false", "fence": "false"}


def _refine(element: etree.Element, display: bool) -> None:
    """Bring latex2mathml's tree closer to KaTeX's MathML, in place: operator symbols as
    `<mo>` and bare bars as `<mi>`, accents flagged (`accent="true"`) with \\overline and
    the wide accents stretching over their base, and in display math the scripts of a
    movablelimits operator (\\lim, \\max, \\det, …) under it."""
    for node in element.iter():
        text = html.unescape(node.text or "")
        if node.tag == "mi" and text in _OPERATOR_SYMBOLS:
            node.tag = "mo"
            node.text = _OPERATOR_SYMBOLS[text]
        elif (
            node.tag == "mo"
            and text in _BARS
            and all(_PLAIN_BAR_ATTRIBUTES.get(k) == v for k, v in node.attrib.items())
        ):
            node.attrib.clear()
            node.tag = "mi"
        elif node.tag in ("mover", "munder") and len(node) == 2 and node[1].tag == "mo":
            mark = node[1]
            mark_text = html.unescape(mark.text or "")
            flag = "accent" if node.tag == "mover" else "accentunder"
            if mark_text == _LINE_MARK:
                node.set(flag, "true")
                mark.attrib.pop("accent", None)
                mark.set("stretchy", "true")
                mark.text = _STRETCHY_LINE
            elif node.tag == "mover" and (
                mark_text in _ACCENT_MARKS
                or (mark_text == _VECTOR_ARROW and mark.get("stretchy") == "true")
            ):
                # As in KaTeX, an accent keeps its mark's width unless it is a wide one:
                # \widehat and \widetilde (their mover has no accent flag yet, their mark no
                # stretchy), \widecheck (a stretchy caron).
                wide = (
                    mark_text in "^~"
                    and "stretchy" not in mark.attrib
                    and node.get("accent") != "true"
                ) or (mark_text == "\u02c7" and mark.get("stretchy") == "true")
                node.set("accent", "true")
                mark.set("stretchy", "true" if wide else "false")
        elif (
            display
            and node.tag in _SCRIPTS_UNDER
            and len(node)
            and node[0].tag == "mo"
            and node[0].get("movablelimits") == "true"
        ):
            node.tag = _SCRIPTS_UNDER[node.tag]


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


#: Formulas at most this long (characters) are remembered once converted, in each
#: process: short formulas (`x`, `\frac{1}{2}`, `F = ma`) recur across thousands of
#: answers. The MathML kept is bounded in characters whatever the input, the least
#: recently used going first.
CONVERTED_MAX_LENGTH = 160
CONVERTED_MAX_CHARACTERS = 8_000_000

_converted: OrderedDict[tuple[str, bool], str] = OrderedDict()
_converted_characters = 0
_converted_lock = threading.Lock()


def latex_to_mathml(latex: str, display: bool) -> str:
    """LaTeX (without delimiters) -> one `<math>` element as trusted HTML text.

    Raises FormulaError when latex2mathml fails or emits an unknown command (`\\ce{…}`);
    a formula that fails is not remembered."""
    global _converted_characters
    if len(latex) > CONVERTED_MAX_LENGTH:
        return _convert(latex, display)
    key = (latex, display)
    with _converted_lock:
        mathml = _converted.get(key)
        if mathml is not None:
            _converted.move_to_end(key)
            return mathml
    mathml = _convert(latex, display)
    with _converted_lock:
        if key not in _converted:
            _converted[key] = mathml
            _converted_characters += len(mathml)
            while _converted_characters > CONVERTED_MAX_CHARACTERS:
                _, dropped = _converted.popitem(last=False)
                _converted_characters -= len(dropped)
    return mathml


def forget_converted():
    """Empty the remembered conversions (tests; a renderer change in a running process)."""
    global _converted_characters
    with _converted_lock:
        _converted.clear()
        _converted_characters = 0


def _convert(latex: str, display: bool) -> str:
    try:
        element = convert_to_element(
            _prepare_latex(latex, display), display="block" if display else "inline"
        )
    except Exception as exc:  # latex2mathml raises many types, all meaning "cannot convert"
        raise FormulaError(str(exc) or type(exc).__name__) from exc
    element.attrib.pop("xmlns", None)
    _refine(element, display)
    out: list[str] = []
    _serialise(element, out)
    return "".join(out)
