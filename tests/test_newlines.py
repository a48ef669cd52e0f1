"""Tests for articles.newlines: the corpus's backslash-n newline encoding of answers."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from articles.newlines import decode_answer, encode_answer
from tests.conftest import corpus_answers

NL = "\n"

DECODE_CASES = [
    # (raw answer as in a file, decoded Markdown source)
    (r"One\n\nTwo", f"One{NL}{NL}Two"),
    (r"$q \neq 0$", r"$q \neq 0$"),
    (r"where $ \neg P $.\n- next", f"where $ \\neg P $.{NL}- next"),
    (r"$$\nv_t = \beta v_{t-1}\n$$", f"$${NL}v_t = \\beta v_{{t-1}}{NL}$$"),
    (r"$$\nabla f$$", r"$$\nabla f$$"),
    (r"$$\nu(t) = K_p e(t)\n$$", f"$${NL}u(t) = K_p e(t){NL}$$"),
    (r"\[\nabla \cdot E\]", r"\[\nabla \cdot E\]"),
    (r"\(x \nmid y\) and \(a \notin B\)", r"\(x \nmid y\) and \(a \notin B\)"),
    (r"d) Graphite (C)  \ne) Silicon", f"d) Graphite (C)  {NL}e) Silicon"),
    (r"$$\nF_x = F \\\nF_y = G\n$$", f"$${NL}F_x = F \\\\{NL}F_y = G{NL}$$"),
    (
        "```c\\nprintf(\"%d\\n\", a);\\nputchar('\\n');\\n```",
        f"```c{NL}printf(\"%d\\n\", a);{NL}putchar('\\n');{NL}```",
    ),
    (r'```python\n"""Doc."""\nx = 1\n```', f'```python{NL}"""Doc."""{NL}x = 1{NL}```'),
    (r"`\n` stays", r"`\n` stays"),
    (r"no escapes", "no escapes"),
]


@pytest.mark.parametrize(("raw", "decoded"), DECODE_CASES)
def test_decode_answer(raw, decoded):
    assert decode_answer(raw) == decoded


@pytest.mark.parametrize(("raw", "decoded"), DECODE_CASES)
def test_encode_answer_inverts_decode(raw, decoded):
    assert encode_answer(decode_answer(raw)) == raw


# Pieces the generated answers are made of: every kind of span the decoder tells apart
# (math of each notation, code spans, fences, escaped dollars), the start of LaTeX commands
# that begin with n, quotes of C strings and characters, and plain text. No real newline
# and no carriage return (a corpus answer holds neither): encode_answer turns `\r\n` into
# `\n`, so a `\r` right before a `\n` escape would not come back.
PIECES = [
    "\\n",
    "\\n",
    "\\n",
    "\\",
    "n",
    "eq",
    "u",
    "abla",
    "ot",
    "ewline",
    "e",
    "$",
    "$$",
    "\\$",
    "\\[",
    "\\]",
    "\\(",
    "\\)",
    "`",
    "```",
    "~~~",
    "```c",
    '"',
    "'",
    '"""',
    "\\\\",
    "\\r",
    "printf(",
    "%d",
    "x",
    "a b",
    " ",
    "  ",
    "- ",
    "1. ",
    "#",
    "|",
    "*",
    "_",
    "{",
    "}",
    "^",
    "2",
    "ü",
    "\t",
]


def generated_answers(count, seed):
    rng = random.Random(seed)
    for _ in range(count):
        yield "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 40)))


def test_encode_inverts_decode_on_generated_answers():
    # Decoding only ever turns a backslash-n pair into a newline or leaves it be, so for
    # any text without a real newline, encoding gives back exactly what was decoded.
    failures = [
        raw
        for raw in generated_answers(5000, seed=20240611)
        if encode_answer(decode_answer(raw)) != raw
    ]
    assert failures == []


@pytest.mark.corpus
def test_encode_inverts_decode_for_every_corpus_answer():
    failures = [p for p, raw in corpus_answers() if encode_answer(decode_answer(raw)) != raw]
    assert failures == []


# Answers an editor can save in the admin: any text, including a literal backslash and n in
# prose, code or math, real line breaks anywhere, and the escape sequence itself.
EDITOR_PIECES = st.sampled_from(
    ["\\n", "\n", "\\", "n", "u", "eq", "ewcommand", "$", "$$", "\\(", "\\)", "`", "```",
     '"', "'", "&", "#92;", "#38;", "&#92;n", " ", "a", "C:", "\r\n", "printf(", ")", "é"]
)  # fmt: skip


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(st.lists(EDITOR_PIECES, max_size=30).map("".join))
def test_decode_inverts_encode_on_any_answer_an_editor_can_write(source):
    assert decode_answer(encode_answer(source)) == source.replace("\r\n", "\n")


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_decode_inverts_encode_on_arbitrary_text(source):
    assert decode_answer(encode_answer(source)) == source.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "source, encoded",
    [
        ("Open C:\\new\\folder", "Open C:&#92;new\\folder"),
        ("use \\n in C", "use &#92;n in C"),
        ("one\ntwo", "one\\ntwo"),
        ("$q \\neq 0$", "$q \\neq 0$"),
        ("write &#92;n", "write &#38;#92;n"),
    ],
)
def test_a_literal_backslash_n_is_written_so_that_it_reads_back(source, encoded):
    assert encode_answer(source) == encoded
    assert decode_answer(encoded) == source


@pytest.mark.parametrize(
    "command",
    ["newcommand", "newline", "ne", "nleq", "notin", "nexists", "ngeq", "nparallel", "nu"],
)
def test_latex_commands_beginning_with_n_survive_decoding_inside_math(command):
    assert decode_answer(f"Let $a \\{command} b$.\\nNext") == f"Let $a \\{command} b$.\nNext"
    assert decode_answer(f"$$\\{command}{{x}}$$") == f"$$\\{command}{{x}}$$"
