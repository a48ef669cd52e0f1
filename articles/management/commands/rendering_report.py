"""Report how the renderer does on corpus files: formulas, fallbacks, math left visible, time.

Reads article files only (no database); rendering logic stays in articles.rendering.
"""

import html
import multiprocessing
import re
import statistics
import sys
import time
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand

from articles.newlines import decode_answer
from articles.rendering import render_markdown

try:
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_CODE = re.compile(r"<pre\b.*?</pre>|<code\b.*?</code>", re.DOTALL)
_MATH = re.compile(r"<math\b.*?</math>", re.DOTALL)
# A dollar sign touching a formula means a `$` pair was split the wrong way.
_TOUCHING = re.compile(r"\$\s?\x00|\x00\s?\$")
_TAG = re.compile(r"<[^>]+>")
# A `$…$` pair with a LaTeX sign inside, on one line, is math the scanner missed.
_DOLLAR_MATH = re.compile(r"(?<!\$)\$(?!\$)([^$\n]{1,80}?)(?<!\\)\$(?!\$)")
_LATEX_SIGN = re.compile(r"\\[A-Za-z]+|[\^_]\{?\w")


def front_matter(text: str) -> dict:
    """The YAML between the first two `---` lines of an article file."""
    lines = text.split("\n")
    marks = [i for i, line in enumerate(lines) if line.rstrip() == "---"][:2]
    if len(marks) < 2:
        raise ValueError("no front matter")
    return yaml.load("\n".join(lines[marks[0] + 1 : marks[1]]), Loader=_Loader) or {}


def visible_math(fragment: str) -> list[str]:
    """Math delimiters a reader would see in rendered HTML, outside code and MathML."""
    text = html.unescape(_TAG.sub("", _MATH.sub("\x00", _CODE.sub(" ", fragment))))
    found = [d for d in ("$$", "\\(", "\\[") if d in text]
    found += [text[max(0, m.start() - 20) : m.end() + 20] for m in _TOUCHING.finditer(text)]
    text = text.replace("\x00", " ")
    found += [
        f"${m.group(1)}$" for m in _DOLLAR_MATH.finditer(text) if _LATEX_SIGN.search(m.group(1))
    ]
    return found


def _measure(path: str) -> dict:
    try:
        raw = front_matter(Path(path).read_text(encoding="utf-8")).get("answer") or ""
        start = time.perf_counter()
        result = render_markdown(decode_answer(str(raw)))
        elapsed = (time.perf_counter() - start) * 1000
    except Exception as exc:  # a report counts failures instead of stopping
        return {"path": path, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "path": path,
        "ms": elapsed,
        "display": result.html.count('<math display="block"'),
        "inline": result.html.count('<math display="inline"'),
        "fallbacks": result.fallbacks,
        "visible": visible_math(result.html),
    }


class Command(BaseCommand):
    help = "Render corpus answers from files and report formulas, fallbacks and timing."

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="*", help="article files or folders (default: the shared corpus)"
        )
        parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
        parser.add_argument(
            "--show", type=int, default=5, help="offending files to list (default 5)"
        )

    def handle(self, *args, **options):
        paths = [Path(p) for p in options["paths"]] or [
            Path(settings.BASE_DIR) / ".." / "shared" / "corpus" / "learn"
        ]
        files = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(str(p) for p in path.rglob("*.md")))
            elif path.is_file():
                files.append(str(path))
            else:
                self.stdout.write(f"Not found, skipped: {path}")
        if not files:
            self.stdout.write("No article files to report on.")
            return

        rows = self._run(files, max(1, options["jobs"]))
        errors = [r for r in rows if "error" in r]
        ok = [r for r in rows if "error" not in r]
        times = sorted(r["ms"] for r in ok) or [0.0]
        offending = [r for r in ok if r["visible"]]
        fell_back = [r for r in ok if r["fallbacks"]]
        display = sum(r["display"] for r in ok)
        inline = sum(r["inline"] for r in ok)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]

        write = self.stdout.write
        write(f"files:                    {len(rows)} ({len(errors)} unreadable)")
        write(f"formulas converted:       {display + inline} ({display} display, {inline} inline)")
        write(
            f"formulas as source:       {sum(r['fallbacks'] for r in ok)} in {len(fell_back)} files"
        )
        write(f"answers with visible math: {len(offending)} (goal 0)")
        write(f"render time per article:  mean {statistics.fmean(times):.2f} ms, p95 {p95:.2f} ms")
        show = options["show"]
        for r in offending[:show]:
            write(f"  visible math: {r['path']}: {r['visible'][:3]}")
        for r in fell_back[:show]:
            write(f"  fallback: {r['path']} ({r['fallbacks']})")
        for r in errors[:show]:
            write(f"  unreadable: {r['path']}: {r['error']}")

    def _run(self, files: list[str], jobs: int) -> list[dict]:
        progress = None
        if sys.stdout.isatty():
            from tqdm import tqdm  # noqa: PLC0415 (only a terminal gets a progress bar)

            progress = tqdm(total=len(files), unit="file")
        rows = []
        if jobs > 1 and len(files) > 200:
            # fork keeps the configured Django settings in the workers.
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                for row in pool.imap(_measure, files, chunksize=64):
                    rows.append(row)
                    if progress:
                        progress.update()
        else:
            for path in files:
                rows.append(_measure(path))
                if progress:
                    progress.update()
        if progress:
            progress.close()
        return rows
