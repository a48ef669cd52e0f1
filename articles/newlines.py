"""The corpus's encoding of `answer` (newlines written as backslash + n), both ways.

Part of the front matter file format: the importer decodes, the exporter encodes. Must not
render; it only asks the math scanner where math and code are (`\\n` there may be `\\neq`)."""

from __future__ import annotations

import re

from articles.rendering.math import scan

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


def encode_answer(source: str) -> str:
    """Markdown source -> corpus `answer` form: each newline becomes backslash + n.

    Exact inverse of `decode_answer` for corpus answers (they hold no real newline)."""
    return source.replace("\r\n", "\n").replace("\n", "\\n")
