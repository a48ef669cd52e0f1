"""Fenced code blocks at any indentation, highlighted by Pygments through codehilite.

Owns turning each fence into highlighted HTML in Markdown's stash. Finding the fences is
the math scanner's (`fence_spans`), so math and code agree on where code is; must not
configure Markdown or sanitise (codehilite's settings are read from the Markdown instance)."""

from __future__ import annotations

from markdown.extensions.codehilite import CodeHilite, CodeHiliteExtension
from markdown.preprocessors import Preprocessor

from articles.rendering.math import FENCE_OPEN, fence_spans


class FencePreprocessor(Preprocessor):
    """Fenced code at any indentation, so fences inside list items work (Python-Markdown's
    fenced_code only sees column 0). Highlights with the codehilite extension's settings
    and leaves a stash placeholder at the fence's own indentation."""

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        spans = fence_spans(text)
        if not spans:
            return lines
        config = {"css_class": "highlight", "guess_lang": False}
        for ext in self.md.registeredExtensions:
            if isinstance(ext, CodeHiliteExtension):
                config = ext.getConfigs()
        out, pos = [], 0
        for span in spans:
            block = text[span.start : span.end].split("\n")
            m = FENCE_OPEN.fullmatch(block[0])
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
            code = CodeHilite("\n".join(body) + "\n", lang=lang, **options).hilite(shebang=False)
            out.append(text[pos : span.start])
            out.append(f"\n{indent}{self.md.htmlStash.store(code)}\n")
            pos = span.end
        out.append(text[pos:])
        return "".join(out).split("\n")
