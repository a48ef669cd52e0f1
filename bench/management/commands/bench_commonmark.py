"""How many CommonMark spec examples the answer renderer passes, and why the others differ.

Reads the examples from a JSON file (a list of objects with `markdown`, `html`, `section`
and `number`, as the npm package commonmark-spec gives them, and `extensions` for GFM's own
examples); the project does not ship them (the specs are CC BY-SA). Compares normalised
HTML; writes nothing."""

import html
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options
from django.core.management.base import BaseCommand, CommandError

from articles.rendering import markdown, placeholders, render_markdown

# The spec writes a tab as this arrow in its examples.
_TAB_ARROW = "\u2192"
_BLOCK_TAGS = frozenset(
    """address article aside blockquote body dd details div dl dt fieldset figcaption figure
    footer form h1 h2 h3 h4 h5 h6 header hr html li main nav ol p pre section summary table
    tbody td tfoot th thead tr ul br""".split()
)
_VOID_TAGS = frozenset("area base br col embed hr img input link meta source track wbr".split())
# What our own passes do on purpose, undone before the second comparison that names why an
# example differs: Pygments' markup around code blocks, rel on outside links, heading ids.
_HIGHLIGHT = re.compile(
    r'<div class="highlight"><pre><span></span><code>(.*?)</code></pre></div>', re.S
)
_CODE_CLASS = re.compile(r'<pre><code class="[^"]*">')
_REL = re.compile(r' rel="nofollow noopener"')
_HEADING_ID = re.compile(r'(<h[1-6]) id="[^"]*"')
_HEADING_LEVEL = re.compile(r"(</?h)[1-6]\b")
# Our fences open and close at any indentation (the corpus indents them in list items).
_INDENTED_FENCE = re.compile(r"^ {4,}(?:`{3,}|~{3,})", re.M)
# cmark's safe mode (its default) writes this in place of raw HTML.
_RAW_HTML_OMITTED = "<!-- raw HTML omitted -->"


class _Normaliser(HTMLParser):
    """HTML -> a canonical string: whitespace collapsed outside <pre> and dropped around
    block tags, attributes sorted, character references resolved and re-escaped, void
    elements without a slash. Two fragments a browser shows alike compare equal."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.in_pre = 0

    def _text(self, text):
        self.out.append(("text", text))

    def handle_starttag(self, tag, attrs):
        attributes = "".join(
            f' {name}="{html.escape(value or "", quote=True)}"' for name, value in sorted(attrs)
        )
        self.out.append(("tag", tag, f"<{tag}{attributes}>"))
        if tag == "pre":
            self.in_pre += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "pre":
            self.in_pre -= 1

    def handle_endtag(self, tag):
        if tag in _VOID_TAGS:
            return
        self.out.append(("tag", tag, f"</{tag}>"))
        if tag == "pre":
            self.in_pre = max(0, self.in_pre - 1)

    def handle_data(self, data):
        text = html.escape(data, quote=False)
        if not self.in_pre:
            text = re.sub(r"\s+", " ", text)
        self.out.append(("text", text, self.in_pre > 0))

    def handle_comment(self, data):
        self.out.append(("raw", f"<!--{data}-->"))

    def handle_decl(self, decl):
        self.out.append(("raw", f"<!{decl}>"))

    def handle_pi(self, data):
        self.out.append(("raw", f"<?{data}>"))

    def result(self):
        pieces = []
        for i, item in enumerate(self.out):
            if item[0] != "text":
                pieces.append(item[-1])
                continue
            text, in_pre = item[1], item[2]
            if not in_pre:
                before = self.out[i - 1] if i else None
                after = self.out[i + 1] if i + 1 < len(self.out) else None
                if before is None or (before[0] == "tag" and before[1] in _BLOCK_TAGS):
                    text = text.lstrip()
                if after is None or (after[0] == "tag" and after[1] in _BLOCK_TAGS):
                    text = text.rstrip()
            pieces.append(text)
        return "".join(pieces)


def normalise(markup: str) -> str:
    parser = _Normaliser()
    parser.feed(markup)
    parser.close()
    return parser.result()


def _undo_our_passes(markup: str) -> str:
    markup = _HIGHLIGHT.sub(
        lambda m: "<pre><code>" + re.sub(r"<[^>]*>", "", m.group(1)) + "</code></pre>", markup
    )
    markup = _CODE_CLASS.sub("<pre><code>", markup)
    markup = _REL.sub("", markup)
    markup = _HEADING_ID.sub(r"\1", markup)
    return _HEADING_LEVEL.sub(r"\g<1>0", markup)


def _same(ours: str, expected: str, lenient: bool = False) -> bool:
    if lenient:
        ours, expected = _undo_our_passes(ours), _undo_our_passes(expected)
    return normalise(ours) == normalise(expected)


def _engine(source: str, extensions: list[str]) -> str:
    """cmark-gfm alone, raw HTML passed through, with the extensions the example is for."""
    if not extensions:
        return cmarkgfm.markdown_to_html(source, Options.CMARK_OPT_UNSAFE)
    return cmarkgfm.markdown_to_html_with_extensions(
        source, Options.CMARK_OPT_UNSAFE, list(extensions)
    )


def classify(example: dict) -> tuple[str, str]:
    """One spec example -> (verdict of the Markdown part, verdict of the whole renderer).

    A verdict is "pass" or the first reason found for a difference, tried in this order:
    the bare engine (cmark-gfm, CommonMark 0.29, with the GitHub extensions an example's
    `extensions` names, as GFM's own spec marks them) already differs; raw HTML, which
    answers show as text; the extensions as answers use them; our code highlighting, heading
    levels and ids, and rel on outside links (undone, the example then passes); fences
    indented 4 spaces or more; math protection; the sanitiser's allow-list."""
    source = example["markdown"].replace(_TAB_ARROW, "\t")
    expected = example["html"].replace(_TAB_ARROW, "\t")
    part = markdown.to_html(source)
    if _same(part, expected):
        part_verdict = "pass"
    elif not _same(_engine(source, example.get("extensions") or []), expected):
        part_verdict = "engine (cmark-gfm follows CommonMark 0.29)"
    elif _RAW_HTML_OMITTED in cmarkgfm.markdown_to_html(source):
        part_verdict = "raw HTML shown as text (by design)"
    elif not _same(
        cmarkgfm.markdown_to_html_with_extensions(
            source, Options.CMARK_OPT_UNSAFE | markdown.OPTIONS, list(markdown.EXTENSIONS)
        ),
        expected,
    ):
        part_verdict = "GitHub extensions as answers use them (not tagfilter, ~~ only)"
    elif _same(part, expected, lenient=True):
        part_verdict = "code highlighting, heading levels and ids, rel (by design)"
    elif _INDENTED_FENCE.search(source):
        part_verdict = "fences at any indentation (by design)"
    else:
        part_verdict = "other"
    result = render_markdown(source)
    whole = result.html
    if _same(whole, expected) or (part_verdict != "pass" and _same(whole, part)):
        whole_verdict = part_verdict
    elif part_verdict == "pass" and placeholders.protect(source)[1]:
        whole_verdict = "math protection"
    elif part_verdict == "pass" and "<img" in expected:
        whole_verdict = "sanitiser: images are not in the allow-list"
    elif part_verdict == "pass":
        whole_verdict = "sanitiser: other"
    else:
        whole_verdict = part_verdict
    return part_verdict, whole_verdict


class Command(BaseCommand):
    help = (
        "Count the CommonMark spec examples the renderer passes (normalised HTML), with the "
        "reason for each difference. SPEC is a JSON list of examples, e.g. made from the npm "
        'package commonmark-spec: node -e "console.log(JSON.stringify('
        "require('./package').tests))\" > spec.json"
    )

    def add_arguments(self, parser):
        parser.add_argument("spec", help="path of the spec examples' JSON file")
        parser.add_argument(
            "--show", metavar="REASON", help="list the example numbers of one reason (a prefix)"
        )

    def handle(self, *args, spec, show, **options):
        path = Path(spec)
        if not path.is_file():
            self.stdout.write(f"Skipped: no spec examples at {path} (see --help to make them).")
            return
        try:
            examples = json.loads(path.read_text(encoding="utf-8"))
            examples = [e for e in examples if {"markdown", "html"} <= e.keys()]
        except (ValueError, AttributeError, TypeError) as exc:
            raise CommandError(f"{path}: not a JSON list of spec examples ({exc})") from exc
        if not examples:
            raise CommandError(f"{path}: holds no example with markdown and html")
        part, whole, numbers = Counter(), Counter(), {}
        for example in examples:
            part_verdict, whole_verdict = classify(example)
            part[part_verdict] += 1
            whole[whole_verdict] += 1
            for verdict in {part_verdict, whole_verdict}:
                numbers.setdefault(verdict, []).append(example.get("number"))
        total = len(examples)
        for title, counts in (("Markdown part", part), ("whole renderer", whole)):
            self.stdout.write(f"{title}: {counts['pass']} of {total} examples pass")
            for verdict, count in counts.most_common():
                if verdict != "pass":
                    self.stdout.write(f"  {count:>4}  {verdict}")
        if show:
            for verdict, listed in sorted(numbers.items()):
                if verdict.startswith(show):
                    self.stdout.write(f"{verdict}: {', '.join(str(n) for n in listed)}")
