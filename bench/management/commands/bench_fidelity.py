"""Our answers' structure next to the live site's: lists, their numbers, tables, links.

Reads the JSON lines the live site's renderer writes (`render_live.mjs`: one object a file,
with `file` and `html`) and the corpus files they name; renders each answer with ours and
compares, per case, what a reader's structure is made of. Formulas are left out on both
sides (KaTeX's markup and ours differ by design), and so is the table of contents ours
puts before a long answer. Writes nothing."""

import json
import statistics
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from articles.management.commands.rendering_report import front_matter
from articles.newlines import decode_answer
from articles.rendering import render_markdown
from bench.management.commands.bench import DEFAULT_CORPUS

#: The cases compared, in the order they are printed: what differs when a case goes wrong.
CASES = {
    "1 ordered list starts": "starts",
    "2 lists (a loose list split in two)": "lists",
    "3 list items (a list not recognised)": "items",
    "4 tables and their cells": "tables",
    "5 links (bare addresses linked)": "links",
    "6 table cells showing a backslash before a pipe": "pipes",
}
_VOID = frozenset("area br col embed hr img input link meta source wbr".split())
_MATH_CLASSES = frozenset({"katex", "katex-display", "math-display", "math-inline"})


class _Structure(HTMLParser):
    """Counts of the elements that carry an answer's structure, outside formulas."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[bool] = []  # for each open element: does it start a formula?
        self.in_math = 0
        self.starts: list[str] = []
        self.counts = Counter()
        self.cells: list[str] = []
        self.in_cell = 0

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        # Formulas, and our table of contents (a long answer's, by design), are left out.
        formula = tag == "math" or bool(classes & _MATH_CLASSES) or "toc" in classes
        self.open.append(formula)
        self.in_math += formula
        if self.in_math:
            return
        if tag in ("ul", "ol"):
            self.counts["lists"] += 1
        if tag == "ol":
            self.starts.append(dict(attrs).get("start") or "1")
        if tag == "li":
            self.counts["items"] += 1
        if tag == "table":
            self.counts["tables"] += 1
        if tag in ("td", "th"):
            self.counts["cells"] += 1
            self.cells.append("")
            self.in_cell += 1
        if tag == "a":
            self.counts["links"] += 1

    def handle_endtag(self, tag):
        if tag in _VOID or not self.open:
            return
        if tag in ("td", "th") and not self.in_math:
            self.in_cell = max(0, self.in_cell - 1)
        self.in_math -= self.open.pop()

    def handle_data(self, data):
        if self.in_cell and not self.in_math:
            self.cells[-1] += data


def structure(markup: str) -> dict:
    """HTML -> one comparable value for each case of CASES."""
    parser = _Structure()
    parser.feed(markup)
    parser.close()
    counts = parser.counts
    return {
        "starts": tuple(parser.starts),
        "lists": counts["lists"],
        "items": counts["items"],
        "tables": (counts["tables"], counts["cells"]),
        "links": counts["links"],
        "pipes": sum("\\|" in cell for cell in parser.cells),
    }


class Command(BaseCommand):
    help = (
        "Compare our answers' structure with the live site's, per case, from the JSON lines "
        "its renderer wrote (render_live.mjs) for corpus files."
    )

    def add_arguments(self, parser):
        parser.add_argument("live", help="the JSON lines file render_live.mjs wrote")
        parser.add_argument(
            "--corpus",
            default=str(DEFAULT_CORPUS / "learn"),
            help="the folder the live renderer was given (default: the shared corpus)",
        )
        parser.add_argument("--show", metavar="CASE", help="list the files that differ in CASE")

    def handle(self, *args, live, corpus, show, **options):
        path = Path(live)
        if not path.is_file():
            self.stdout.write(f"Skipped: no live rendering at {path}.")
            return
        differ = {case: [] for case in CASES}
        times, compared = [], 0
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    row = json.loads(line)
                    name = row["file"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise CommandError(
                        f"{path}, line {number}: not a rendered file ({exc})"
                    ) from exc
                if "html" not in row:
                    continue  # the live renderer failed on it
                source = Path(name) if Path(name).is_absolute() else Path(corpus) / name
                try:
                    answer = str(front_matter(source.read_text(encoding="utf-8"))["answer"])
                except (OSError, ValueError, KeyError) as exc:
                    raise CommandError(
                        f"{path}, line {number}: cannot read {source} ({exc})"
                    ) from exc
                start = time.perf_counter()
                ours = render_markdown(decode_answer(answer)).html
                times.append((time.perf_counter() - start) * 1000)
                compared += 1
                theirs, mine = structure(row["html"]), structure(ours)
                for case, key in CASES.items():
                    if theirs[key] != mine[key]:
                        differ[case].append(name)
        if not compared:
            raise CommandError(f"{path}: no rendered file to compare")
        self.stdout.write(f"{compared} answers compared; articles whose structure differs:")
        for case, names in differ.items():
            self.stdout.write(f"  {len(names):>6}  {case}")
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        self.stdout.write(
            f"Our render time per answer: p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms"
        )
        if show:
            for case, names in differ.items():
                if case.startswith(show):
                    self.stdout.write(f"{case}:")
                    self.stdout.write("".join(f"  {name}\n" for name in names), ending="")
