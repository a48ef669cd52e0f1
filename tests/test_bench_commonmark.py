"""`manage.py bench_commonmark`: the CommonMark spec examples' count and its reasons, on
small example files written here (the spec itself is not shipped). No database."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(path, *args):
    out = StringIO()
    call_command("bench_commonmark", str(path), *args, stdout=out)
    return out.getvalue()


def test_it_skips_clearly_when_the_spec_file_is_absent(tmp_path):
    assert run(tmp_path / "spec.json").startswith("Skipped: no spec examples at ")


def test_it_counts_passes_and_names_the_reason_for_each_difference(tmp_path):
    examples = [
        {"markdown": "*a*\n", "html": "<p><em>a</em></p>\n", "number": 1},
        # The spec writes a tab as an arrow; the normalised HTML ignores line breaks.
        {"markdown": "\u2192x\n", "html": "<pre><code>x\n</code></pre>\n", "number": 2},
        {"markdown": "<b>x</b>\n", "html": "<p><b>x</b></p>\n", "number": 3},
        {"markdown": "![a](b.png)\n", "html": '<p><img src="b.png" alt="a" /></p>\n', "number": 4},
        {"markdown": "a\n", "html": "<p>b</p>\n", "number": 5},
    ]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(examples), encoding="utf-8")
    out = run(path, "--show", "raw")
    assert "Markdown part: 2 of 5 examples pass" in out
    assert "whole renderer: 1 of 5 examples pass" in out
    assert "1  code highlighting, heading levels and ids, rel (by design)" in out
    assert "1  sanitiser: images are not in the allow-list" in out
    assert "1  engine (cmark-gfm follows CommonMark 0.29)" in out
    assert "raw HTML shown as text (by design): 3" in out


def test_a_file_that_is_not_a_list_of_examples_is_refused(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text('{"markdown": "x"}', encoding="utf-8")
    with pytest.raises(CommandError, match="spec.json"):
        run(path)
