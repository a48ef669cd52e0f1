"""`manage.py bench_fidelity`: our answers' structure next to the live site's, per case, on a
file written here and live HTML given by hand. No database."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bench.management.commands.bench_fidelity import structure


def run(*args):
    out = StringIO()
    call_command("bench_fidelity", *map(str, args), stdout=out)
    return out.getvalue()


def test_structure_leaves_formulas_out_on_both_sides():
    katex = (
        '<span class="katex-display"><span class="katex"><math><mtable><mtr><mtd>1'
        '</mtd></mtr></mtable></math><span class="katex-html"><ul><li>x</li></ul></span>'
        "</span></span>"
    )
    ours = '<div class="math-display"><math><mtable><mtr><mtd>1</mtd></mtr></mtable></math></div>'
    plain = {"starts": (), "lists": 0, "items": 0, "tables": (0, 0), "links": 0, "pipes": 0}
    assert structure(katex) == structure(ours) == plain


def test_structure_leaves_our_table_of_contents_out():
    # A long answer of ours opens with its headings' contents (a list of links): by design,
    # not a list or links the author wrote.
    answer = "<h2>One</h2>\n<ol>\n<li>a</li>\n</ol>"
    ours = (
        '<nav class="toc" aria-label="Contents"><p class="toc__title">Contents</p><ol>'
        '<li class="toc__level-1"><a href="#one">One</a></li></ol></nav>\n' + answer
    )
    assert structure(ours) == structure(answer)
    assert structure(ours)["items"] == 1


def test_each_case_counts_the_articles_that_differ(tmp_path, write_article):
    write_article(slug="steps", answer=r"1. One.\n\nBetween.\n\n3. Three.")
    live = tmp_path / "live.jsonl"
    rows = [
        # The live site numbered the second list from 1, and linked nothing.
        {
            "file": "mathematics/steps.md",
            "html": "<ol><li>One.</li></ol><p>Between.</p><ol><li>Three.</li></ol>",
        },
        {"file": "mathematics/failed.md", "error": "the live renderer failed"},
    ]
    live.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = run(live, "--corpus", tmp_path / "learn", "--show", "1")
    assert "1 answers compared" in out
    assert "     1  1 ordered list starts" in out
    assert "     0  2 lists (a loose list split in two)" in out
    assert out.rstrip().endswith("mathematics/steps.md")


def test_it_skips_without_the_live_file_and_refuses_a_bad_line(tmp_path):
    assert run(tmp_path / "live.jsonl").startswith("Skipped: no live rendering at ")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 1"):
        run(bad)
