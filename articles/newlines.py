"""The corpus's encoding of `answer` (newlines written as backslash + n), both ways.

Part of the front matter file format: the importer decodes, the exporter encodes. Must not
render; it only asks the math scanner where math and code are (`\\n` there may be `\\neq`)."""

from __future__ import annotations

import re

from articles.rendering.math import scan

# LaTeX commands beginning with "n". In raw corpus answers `\n` is also the newline
# escape, so inside math a `\n` followed by one of these names stays a command. Measured
# over the corpus: neg 157, neq 88, nabla 33, nu 31, notin 2, not 2, nmid 1 (320 in all);
# the rest are every other command beginning with "n" that TeX, LaTeX, AMS and KaTeX
# define, so whatever an editor writes next survives.
N_COMMANDS = frozenset(
    """
    nabla natural ncong ne nearrow neg negmedspace negthickspace negthinspace neq newcommand
    newenvironment newline newpage newtheorem nexists ngeq ngeqq ngeqslant ngtr ni
    nLeftarrow nleftarrow nLeftrightarrow nleftrightarrow nleq nleqq nleqslant nless nmid
    nobreak nobreakspace noexpand noindent nolimits nolinebreak nonumber nonscript
    normalfont normalsize not notag notin notni nparallel nprec npreceq nRightarrow
    nrightarrow nshortmid nshortparallel nsim nsubset nsubseteq nsubseteqq nsucc nsucceq
    nsupset nsupseteq nsupseteqq ntriangleleft ntrianglelefteq ntriangleright
    ntrianglerighteq nu nulldelimiterspace numberwithin nVDash nVdash nvDash nvdash nwarrow
    """.split()
)

#: How an answer writes a literal backslash followed by ``n`` where the decoder would read
#: a line break: ``&#92;n`` (``&#92;`` is the HTML reference for a backslash). Text that
#: already holds ``&#92;n`` (or ``&#38;#92;n`` ...) gains one ``#38;`` per level on the way
#: out and loses it on the way in, so every answer has exactly one encoding.
_ESCAPED_BACKSLASH_N = re.compile(r"&((?:#38;)*)#92;n")

_NEWLINE_ESCAPE = re.compile(r"\\n")
_LETTERS = re.compile(r"[A-Za-z]*")


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
    Then `&#92;n` (see `_ESCAPED_BACKSLASH_N`) becomes a literal backslash and n. Only
    those sequences ever change, so `encode_answer` inverts this exactly. Never raises.
    """
    decoded, _ = _decode(raw)
    return _ESCAPED_BACKSLASH_N.sub(_unescape, decoded)


def _unescape(match):
    levels = match.group(1)
    return "\\n" if not levels else f"&{levels[4:]}#92;n"


def _decode(raw: str) -> tuple[str, list[bool]]:
    """``raw`` with its `\\n` pairs settled, and for each pair whether it stayed a pair."""
    raw = raw.replace("\r\n", "\n")
    hits = [m.start() for m in _NEWLINE_ESCAPE.finditer(raw)]
    if not hits:
        return raw, []
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
    return decoded, keep


def _apply_decisions(raw: str, hits: list[int], keep: list[bool]) -> tuple[str, list[int]]:
    parts, offsets, pos, shift = [], [], 0, 0
    for h, k in zip(hits, keep, strict=False):
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
    spans = scan(decoded)
    result = []
    si = 0
    for h, off in zip(hits, offsets, strict=False):
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


_LINE_BREAK_OR_PAIR = re.compile(r"\n|\\n")


def encode_answer(source: str) -> str:
    """Markdown source -> corpus `answer` form: each line break becomes backslash + n.

    The exact inverse of `decode_answer`: ``decode_answer(encode_answer(s)) == s`` for any
    ``s`` (CRLF line breaks count as LF). A literal backslash + n that the decoder would
    read as a line break (``C:\\new`` in prose) is written ``&#92;n``; a line break that
    it would read as a LaTeX command (a break right before ``u`` inside math) stays a real
    line break. Corpus answers, which hold neither, encode to their original text.
    """
    source = source.replace("\r\n", "\n")
    escaped = _ESCAPED_BACKSLASH_N.sub(lambda m: f"&#38;{m.group(1)}#92;n", source)
    tokens = list(_LINE_BREAK_OR_PAIR.finditer(escaped))
    if not tokens:
        return escaped
    # Start with every break as a pair and every literal pair as it is; then change the
    # tokens the decoder reads otherwise until it reads them all back.
    forms = ["\\n" for _ in tokens]
    for _ in range(4):
        raw = _join(escaped, tokens, forms)
        decoded, keep = _decode(raw)
        if _ESCAPED_BACKSLASH_N.sub(_unescape, decoded) == source:
            return raw
        pairs = iter(keep)
        for index, token in enumerate(tokens):
            kept = next(pairs) if forms[index] == "\\n" else None
            if token.group() == "\n" and kept:
                forms[index] = "\n"  # a real line break: never read as a command
            elif token.group() != "\n" and kept is False:
                forms[index] = "&#92;n"
    # Unambiguous whatever the context: no pair is left for the decoder to read.
    forms = ["\n" if token.group() == "\n" else "&#92;n" for token in tokens]
    return _join(escaped, tokens, forms)


def _join(text, tokens, forms):
    parts, position = [], 0
    for token, form in zip(tokens, forms, strict=True):
        parts.append(text[position : token.start()])
        parts.append(form)
        position = token.end()
    parts.append(text[position:])
    return "".join(parts)
