"""Render time of crafted answers (bench.pathological) at two sizes: the renderer must stay
linear in the answer. Prints one line a pattern; reads and writes nothing else."""

import time

from django.core.management.base import BaseCommand

from articles.rendering import render_markdown
from bench.pathological import PATTERNS, answer


class Command(BaseCommand):
    help = "Time render_markdown on each crafted pattern at 100 kB and 400 kB."

    def add_arguments(self, parser):
        parser.add_argument(
            "--sizes",
            default="100000,400000",
            help="comma-separated answer sizes in characters (default: 100000,400000)",
        )
        parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")

    def handle(self, *args, sizes, repeat, **options):
        sizes = [int(s) for s in sizes.split(",")]
        header = f"{'pattern':<16}" + "".join(f"{f'{s // 1000} kB':>12}" for s in sizes)
        self.stdout.write(header + f"{'ratio':>8}")
        worst = 0.0
        for name in PATTERNS:
            times = []
            for size in sizes:
                source = answer(name, size)
                best = float("inf")
                for _ in range(max(1, repeat)):
                    start = time.perf_counter()
                    render_markdown(source)
                    best = min(best, time.perf_counter() - start)
                times.append(best)
            worst = max(worst, times[-1])
            ratio = f"{times[-1] / times[0]:.1f}x" if len(times) > 1 and times[0] else ""
            cells = "".join(f"{t * 1000:>9.1f} ms" for t in times)
            self.stdout.write(f"{name:<16}{cells}{ratio:>8}")
        self.stdout.write(f"slowest at {sizes[-1] // 1000} kB: {worst * 1000:.1f} ms")
