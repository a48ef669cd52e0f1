"""Answer Markdown: the Python-Markdown extension, its configuration, one instance a thread.

Owns Markdown -> HTML (lists, tables, heading ids and levels, external links, raw HTML
shown as text). Must not sanitise or look for math: its output goes to `sanitise.clean`,
and formulas reach it as placeholders."""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit

import markdown
from django.conf import settings
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

from articles.rendering.highlight import FencePreprocessor

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
        md.preprocessors.register(FencePreprocessor(md), "answer_fences", 26)
        md.preprocessors.register(_ListInterruptPreprocessor(md), "answer_lists", 24)
        md.treeprocessors.register(_ExternalLinkTreeprocessor(md), "answer_links", 1)
        # Before toc (priority 5): heading ids are made from the final outline.
        md.treeprocessors.register(_HeadingLevelTreeprocessor(md), "answer_headings", 6)


def makeExtension(**kwargs):  # Python-Markdown's loader hook
    return AnswerExtension(**kwargs)


# Extensions in the order they are registered; this module's own comes first.
MARKDOWN_EXTENSIONS = (
    f"{__name__}:AnswerExtension",
    "markdown.extensions.tables",
    "markdown.extensions.toc",
    "markdown.extensions.codehilite",
    "mdx_truly_sane_lists",
)
MARKDOWN_EXTENSION_CONFIGS = {
    # align="center" rather than a style attribute: no inline CSS to allow.
    "markdown.extensions.tables": {"use_align_attribute": True},
    "markdown.extensions.codehilite": {
        "css_class": "highlight",
        "guess_lang": False,
        "use_pygments": True,
    },
    # GitHub nests a list under the item's text column: 2 spaces under "- ".
    "mdx_truly_sane_lists": {"nested_indent": 2},
}

_local = threading.local()


def to_html(text: str) -> str:
    """Markdown -> HTML, not yet sanitised. One Markdown instance per thread, built once
    with its extensions: an instance keeps state while converting, so threads never share
    one."""
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(
            extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_EXTENSION_CONFIGS
        )
    md.reset()
    return md.convert(text)
