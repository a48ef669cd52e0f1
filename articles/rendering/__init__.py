"""Answer rendering: decoded Markdown (Article.answer) -> sanitised HTML with MathML.

Math is cut out before Markdown and sanitising; MathML re-serialised by our allow-list is put
back after (latex2mathml leaves `\\text{<script>}` unescaped). Must not touch the database,
run per request or decode the file format (that is articles.newlines)."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass

from django.conf import settings

from articles.plaintext import plain_text
from articles.rendering import images, markdown, placeholders, sanitise
from articles.rendering.images import ImageReference
from articles.rendering.math import FormulaError, latex_to_mathml
from articles.rendering.nesting import MAX_NESTING_DEPTH, nesting_depth

__all__ = [
    "MAX_NESTING_DEPTH",
    "RENDERER_VERSION",
    "ImageReference",
    "RenderResult",
    "image_references",
    "refused_images",
    "nesting_depth",
    "render_markdown",
]

logger = logging.getLogger(__name__)

# Bump whenever the HTML for the same source can change; stored next to the HTML so a
# re-render job can find stale rows.
RENDERER_VERSION = 8

#: An answer with this many headings or more gets a table of contents: a nav of links to
#: its headings, before its first block.
TOC_MIN_HEADINGS = 3
_HEADING = re.compile(r'<h([2-6]) id="([^"]*)">(.*?)</h\1>', re.S)

# Half of a UTF-16 pair, alone: a str can hold one (a form, a JSON escape) but no UTF-8
# encoder writes it, so it becomes U+FFFD before anything else.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class RenderResult:
    html: str  # sanitised HTML fragment, safe to print with |safe
    formulas: int  # formulas converted to MathML
    fallbacks: int  # formulas that could not be converted (shown as source)


def render_markdown(source: str) -> RenderResult:
    """Decoded Markdown (the stored Article.answer) -> RenderResult with sanitised HTML.

    Math becomes MathML: display math in `<div class="math-display">` (alone in its
    paragraph) or `<span class="math-display">`, inline math in `<span class="math-inline">`;
    the wrappers let wide formulas scroll. A formula latex2mathml cannot convert is shown
    as its escaped source in `<code class="math-fallback">`, counted and logged.

    Never raises for any input string, and takes time linear in its length; the output
    depends on the input and settings only. Should any step fail all the same, the answer
    is shown as escaped text in a `<pre>` and a warning is logged.
    """
    source = _LONE_SURROGATE.sub("\ufffd", source or "")
    try:
        return _render(source)
    except (RecursionError, Exception) as exc:  # the last resort: never a 500
        logger.warning("answer shown as text, rendering failed (%r)", exc)
        return RenderResult(html=f"<pre>{html.escape(source)}</pre>", formulas=0, fallbacks=0)


def _render(source: str) -> RenderResult:
    text, formulas = placeholders.protect(source)
    markup = placeholders.formulas_as_text_in_tags(markdown.to_html(text), formulas)
    safe = sanitise.clean(images.rewrite(markup))
    rendered: dict[int, str] = {}
    # One conversion per distinct formula: an answer repeating `$x$` converts it once.
    converted: dict[tuple[str, bool], tuple[str, bool]] = {}
    counts = [0, 0]

    def formula_html(index: int) -> str:
        if index not in rendered:
            latex, display = formulas[index]
            if (latex, display) not in converted:
                try:
                    converted[latex, display] = (latex_to_mathml(latex.strip(), display), True)
                except FormulaError as exc:
                    logger.warning("formula shown as source (%s): %.200s", exc, latex)
                    delimiter = "$$" if display else "$"
                    source = html.escape(delimiter + latex + delimiter)
                    converted[latex, display] = (
                        f'<code class="math-fallback">{source}</code>',
                        False,
                    )
            mathml, ok = converted[latex, display]
            counts[0 if ok else 1] += 1
            rendered[index] = mathml
        return rendered[index]

    body = placeholders.substitute(safe, formulas, formula_html)
    return RenderResult(html=_with_contents(body), formulas=counts[0], fallbacks=counts[1])


def image_references(source: str) -> list[ImageReference]:
    """The images an answer's Markdown shows (`![alt](src)`), in order, each with the
    OwnImage it names or None when it is not one of this site's images. Read by save and
    import to refuse other images with a clear message; the renderer itself drops them.
    Raises what the engine raises (nothing for input the import and the admin accept)."""
    if not source or "![" not in source:  # no image syntax: spare the engine
        return []
    source = _LONE_SURROGATE.sub("\ufffd", source)
    text, formulas = placeholders.protect(source)
    return images.references(
        placeholders.formulas_as_text_in_tags(markdown.to_html(text), formulas)
    )


def refused_images(source: str) -> list[str]:
    """One message for each image of the answer's Markdown that is not one of this site's
    (another site's, or an address under MEDIA_URL that names no image): save and import
    refuse such answers rather than let the renderer drop the image unseen. Pure: whether
    an own image's file exists is articles.images.missing_images."""
    problems = []
    for ref in image_references(source):
        if ref.own is not None:
            continue
        if ref.src.startswith(settings.MEDIA_URL):
            problems.append(
                f"the image address {ref.src!r} is not one of the image library's; copy the "
                f"Markdown from the image's page in the admin (Images)"
            )
        else:
            problems.append(
                f"the image {ref.src!r} is not on this site; only images uploaded to the "
                f"image library (admin, Images) can be shown: upload it there and paste the "
                f"Markdown its page gives"
            )
    return problems


def _with_contents(body: str) -> str:
    """``body`` with a table of contents before it when it holds TOC_MIN_HEADINGS
    headings or more: ``<nav class="toc">`` with one link per heading, in order, to the id
    markdown.py gave it (from its text, so a link stays valid across re-renders), its text
    plain (formulas as linear text) and its depth below the top heading as a class."""
    headings = _HEADING.findall(body)
    if len(headings) < TOC_MIN_HEADINGS:
        return body
    top = min(int(level) for level, _, _ in headings)
    items = "".join(
        f'<li class="toc__level-{int(level) - top + 1}"><a href="#{anchor}">'
        f"{html.escape(plain_text(inner), quote=False)}</a></li>"
        for level, anchor, inner in headings
    )
    return (
        f'<nav class="toc" aria-label="Contents"><p class="toc__title">Contents</p>'
        f"<ol>{items}</ol></nav>\n{body}"
    )
