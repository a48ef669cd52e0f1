"""Stored answer HTML as plain text: formulas written out as students write them, for
search snippets and the JSON-LD answer."""

import pytest

from articles.frontmatter import parse_file
from articles.newlines import decode_answer
from articles.plaintext import formula_text, plain_text, readable_text
from articles.rendering import render_markdown
from tests.conftest import CORPUS


def formula(latex):
    """The linear text of one inline formula, through the real renderer."""
    return plain_text(render_markdown(f"${latex}$").html)


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("(4x - 3)^5", "(4x − 3)^5"),
        (r"\sqrt{x}", "√x"),
        (r"\sqrt{x + 1}", "√(x + 1)"),
        (r"\sqrt[3]{x+1}", "∛(x + 1)"),
        (r"\frac{a}{b}", "a/b"),
        (r"\frac{x+1}{2y}", "(x + 1)/(2y)"),
        (r"\frac{dy}{dx}", "dy/dx"),
        ("x_1^2", "x_1^2"),
        ("f'(x) = 5u^4", "f′(x) = 5u^4"),
        ("e^{-x^2}", "e^(−x^2)"),
        (r"\sin x + \cos x", "sin x + cos x"),
        (r"\int_0^1 f(x)\,dx", "∫_0^1 f(x) dx"),
        (r"\sum_{i=1}^{n} i", "∑_(i = 1)^n i"),
        (r"\lim_{x\to 0}", "lim_(x → 0)"),
        (r"f(x) = 3x^2 + 2x, x \neq 0", "f(x) = 3x^2 + 2x, x ≠ 0"),
        (r"\text{Total cost} = 5", "Total cost = 5"),
        (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", "([1, 2; 3, 4])"),
    ],
)
def test_formulas_read_as_linear_text(latex, text):
    assert formula(latex) == text


def test_mathml_that_is_not_xml_gives_its_text():
    assert formula_text("<math><mi>x</mi><mo>&nbsp;</mo>") == "x"


def test_plain_text_keeps_prose_around_formulas_on_one_line():
    html = render_markdown(r"Find $\sqrt{x}$, then:" + "\n\n$$\n\\frac{a}{b}\n$$\n\n- one").html
    assert plain_text(html) == "Find √x, then: a/b one"


def test_readable_text_keeps_blocks_on_their_own_lines_and_no_markup():
    html = render_markdown(
        "# Heading\n\nThe **chain rule**: $(4x - 3)^5$ &amp; `<b>`.\n\n1. one\n2. two"
    ).html
    assert readable_text(html) == "Heading\nThe chain rule: (4x − 3)^5 & <b>.\none\ntwo"


def test_the_corpus_chain_rule_example_reads_as_written():
    path = CORPUS / "learn/mathematics/can-you-give-an-example-of-how-to-apply-the-chain-rule.md"
    if not path.is_file():
        pytest.skip("the shared corpus is absent")

    record = parse_file(path)
    text = plain_text(render_markdown(decode_answer(record.answer_raw)).html)
    assert "(4x − 3)^5" in text
    assert "( 4 x − 3 ) 5" not in text


def test_the_table_of_contents_is_not_text():
    html = render_markdown("### One\n\nAlpha.\n\n### Two\n\nBeta.\n\n### Three\n\nGamma.").html
    assert "<nav" in html
    assert plain_text(html) == "One Alpha. Two Beta. Three Gamma."
    assert readable_text(html) == "One\nAlpha.\nTwo\nBeta.\nThree\nGamma."
