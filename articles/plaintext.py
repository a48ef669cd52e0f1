"""Stored answer HTML -> plain text: what search indexes and shows in snippets, and what the
QAPage JSON-LD gives search engines as the answer.

Formulas (MathML made by articles.rendering) become the linear text a student writes:
``(4x − 3)^5``, ``√x``, ``a/b``, ``x_1^2``. Reads stored HTML only; never renders Markdown.
"""

import html
import re
import xml.etree.ElementTree as ElementTree

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|code|em|i|kbd|mark|s|small|span|strong|sub|sup|u)\b[^>]*>", re.I
)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|li|ul|ol|h[1-6]|pre|blockquote|table|thead|tbody|tr|hr|br)\b[^>]*>", re.I
)
_TAG = re.compile(r"<[^>]*>")
# The renderer's table of contents (answers never hold a nav of their own: the sanitiser
# drops it).
_CONTENTS = re.compile(r'<nav class="toc"[^>]*>.*?</nav>\n?', re.S)
# The renderer's MathML never nests <math> elements.
_MATH = re.compile(r"<math\b[^>]*>.*?</math>", re.S | re.I)

# Operators written with a space on each side between two operands (a + b, x → 0).
_SPACED = frozenset("+−-=≠≈≡<>≤≥→←↔⇒⇔×÷±∓⋅·∈∉⊂⊆∪∩∧∨∣|")
# Large operators and functions: a space before the next operand (sin x, ∑ i).
_PREFIX_WORDS = frozenset("∫∬∭∮∑∏")
_ROOTS = {"2": "√", "3": "∛", "4": "∜"}
# Characters a formula's pieces may hold and still read as one unit after ^, _ or /.
_ATOM = re.compile(r"(?:\d+(?:\.\d+)?|[^\W\d_]+|.)[′'!]*")


def _local(tag):
    return tag.rsplit("}", 1)[-1].lower()


def _group(text):
    """``text`` as one operand of ^, _ or /: in parentheses unless it is a single unit."""
    if _ATOM.fullmatch(text) or (text.startswith("(") and text.endswith(")")):
        return text
    if len(text) == 1:
        return text
    return f"({text})"


def _join(pieces):
    """Children of an mrow -> text: operators spaced, 4x and dx kept together."""
    out = ""
    previous = None  # (tag, text) of the last piece written
    for tag, text in pieces:
        if not text:
            continue
        if tag == "mo" and text in _SPACED:
            out = out.rstrip()
            out += f" {text} " if previous is not None and previous[0] != "op" else text
            previous = ("op", text)
            continue
        if tag == "mo" and text in {",", ";"}:
            out = out.rstrip() + text + " "
            previous = ("op", text)
            continue
        if previous is not None and previous[0] != "op" and not out.endswith(" "):
            before, after = previous[1], text
            words_meet = before[-1].isalnum() and after[0].isalnum()
            # sin x, not sinx; 4x and dx stay together; text and large operators stand apart.
            if (
                (words_meet and before[-1].isalpha() and (len(before) > 1 or len(after) > 1))
                or before[0] in _PREFIX_WORDS
                or (words_meet and "mtext" in (previous[0], tag))
            ):
                out += " "
        out += text
        previous = (tag, text)
    return out.strip()


def _linear(element):
    """One MathML element -> linear text."""
    tag = _local(element.tag)
    children = list(element)
    if tag in {"mi", "mn", "mo", "mtext", "ms"}:
        return " ".join("".join(element.itertext()).split())
    if tag == "mspace":
        return " "
    parts = [_linear(child) for child in children]
    if tag in {"msup", "mover"} and len(parts) == 2:
        if (
            tag == "mover"
            and element.get("accent") == "true"
            or (len(children) > 1 and children[1].get("accent") == "true")
        ):
            return parts[0]
        if parts[1] and set(parts[1]) <= set("′″‴'"):
            return parts[0] + parts[1]  # f′(x), not f^′(x)
        return f"{parts[0]}^{_group(parts[1])}"
    if tag in {"msub", "munder"} and len(parts) == 2:
        return f"{parts[0]}_{_group(parts[1])}"
    if tag in {"msubsup", "munderover"} and len(parts) == 3:
        return f"{parts[0]}_{_group(parts[1])}^{_group(parts[2])}"
    if tag == "mfrac" and len(parts) == 2:
        return f"{_group(parts[0])}/{_group(parts[1])}"
    if tag == "msqrt":
        return "√" + _group(
            _join([(_local(c.tag), p) for c, p in zip(children, parts, strict=True)])
        )
    if tag == "mroot" and len(parts) == 2:
        root = _ROOTS.get(parts[1], f"{parts[1]}√")
        return root + _group(parts[0])
    if tag == "mtable":
        return "[" + "; ".join(parts) + "]"
    if tag in {"mtr", "mlabeledtr"}:
        return ", ".join(parts)
    return _join([(_local(c.tag), p) for c, p in zip(children, parts, strict=True)])


def formula_text(mathml):
    """One ``<math>…</math>`` element (str) -> the formula as linear text, e.g.
    ``(4x − 3)^5``; MathML that does not parse as XML gives its text content."""
    try:
        root = ElementTree.fromstring(mathml)
    except ElementTree.ParseError:
        return " ".join(html.unescape(_TAG.sub(" ", mathml)).split())
    return " ".join(_linear(root).split())


def _formulas_as_text(answer_html):
    # The table of contents repeats the headings: it is navigation, not text.
    answer_html = _CONTENTS.sub("", answer_html)
    return _MATH.sub(lambda m: html.escape(formula_text(m[0]), quote=False), answer_html)


def plain_text(answer_html):
    """Stored answer HTML -> one line of plain text: what is indexed and shown in snippets.

    Formulas read as linear text (formula_text). Inline tags (emphasis, links, code spans,
    Pygments' token spans) vanish without a trace so words stay whole; block tags become
    spaces so neighbouring cells and items do not run together. Entities are decoded,
    control characters removed and whitespace collapsed. ``answer_html`` is the sanitised
    output of articles.rendering, so a tag never holds a raw ``>``.
    """
    text = _formulas_as_text(answer_html or "")
    text = _TAG.sub(" ", _INLINE_TAG.sub("", text))
    return " ".join(_CONTROL.sub(" ", html.unescape(text)).split())


def readable_text(answer_html):
    """Stored answer HTML -> plain text in paragraphs: blocks (paragraphs, items, headings,
    rows, code blocks) separated by a blank line or a line break, words within a block on
    one line, formulas as in plain_text. For readers who get no HTML (search engines'
    structured data)."""
    text = _formulas_as_text(answer_html or "")
    text = _BLOCK_TAG.sub("\n", _INLINE_TAG.sub("", text))
    text = _CONTROL.sub(" ", html.unescape(_TAG.sub(" ", text)))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
