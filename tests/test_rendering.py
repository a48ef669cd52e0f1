"""Tests for articles.rendering: math, Markdown and sanitising. No database.

Answers are written here as the corpus writes them (newlines as backslash-n) and decoded
first; decoding itself is tested in test_newlines.py.
"""

import logging
import re
from html.parser import HTMLParser

import bleach
import pytest

from articles import rendering
from articles.management.commands.rendering_report import visible_math
from articles.newlines import decode_answer
from articles.rendering import RenderResult, math, render_markdown
from articles.rendering.markdown import to_html as markdown_to_html
from articles.rendering.placeholders import protect
from articles.rendering.sanitise import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    clean,
)
from tests.conftest import corpus_answers


def render_answer(raw):
    """Corpus `answer` text -> RenderResult, as the importer renders it."""
    return render_markdown(decode_answer(raw))


class Node:
    def __init__(self, tag, attrs=(), parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def iter(self, tag=None):
        for child in self.children:
            if isinstance(child, Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def find_all(self, tag):
        return list(self.iter(tag))

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node.tag
            node = node.parent


class _TreeBuilder(HTMLParser):
    VOID = {"br", "hr", "img", "mspace", "none", "mprescripts"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root")

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in self.VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def tree(html):
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def render_tree(raw):
    result = render_answer(raw)
    return result, tree(result.html)


def all_attrs(root):
    return [(n.tag, k, v) for n in root.iter() for k, v in n.attrs.items()]


# --------------------------------------------------------------------------- math


def test_neq_is_an_inline_formula():
    result, root = render_tree(r"Here $q \neq 0$.")
    (span,) = root.find_all("span")
    assert span.attrs["class"] == "math-inline"
    assert span.find_all("math")[0].attrs["display"] == "inline"
    assert "≠" in [mo.text() for mo in span.find_all("mo")]
    assert result.formulas == 1 and result.fallbacks == 0


def test_display_formula_after_escaped_line_breaks():
    result, root = render_tree(r"$$\nv_t = \beta v_{t-1} + (1 - \beta) \nabla L(\theta)\n$$")
    (div,) = root.find_all("div")
    assert div.attrs["class"] == "math-display"
    (math,) = div.find_all("math")
    assert math.attrs["display"] == "block"
    operators = [mo.text() for mo in math.find_all("mo")]
    assert operators[0] == "=" and "+" in operators
    assert "∇" in math.text() and "β" in math.text() and "θ" in math.text()
    assert math.find_all("msub")[0].text() == "vt"
    assert result.formulas == 1


def test_paren_delimiters_make_inline_logic_formula():
    result, root = render_tree(r"\((A \lor B) \land (\neg A \lor C)\)")
    (math,) = root.find_all("math")
    assert math.attrs["display"] == "inline"
    assert {"∨", "∧", "¬"} <= set(math.text())
    assert "\\" not in root.text()


def test_aligned_becomes_two_row_table():
    _, root = render_tree(r"$$\begin{aligned} f(x) &= (x+1)^2 \\ &= x^2 + 2x + 1 \end{aligned}$$")
    (table,) = root.find_all("mtable")
    assert len(table.find_all("mtr")) == 2
    assert "&" not in root.text()


def test_top_level_row_breaks_become_table_rows():
    _, root = render_tree(r"$$\nF_x = F \cos(\theta) \\\nF_y = F \sin(\theta)\n$$")
    assert len(root.find_all("mtr")) == 2


@pytest.mark.parametrize(
    "raw",
    [
        "equipment for $26,000 with a useful life of 5 years and a salvage value of $8,000, so",
        "costs $4 and a pen $2.",
        "fines of up to $30,000, while those with larger workforces pay $5,000.",
    ],
)
def test_currency_stays_text(raw):
    result, root = render_tree(raw)
    assert result.formulas == 0 and not root.find_all("math")
    assert root.text().strip() == raw


def test_currency_bold_and_escaped_dollars():
    raw = r"A notebook costs $4 and a pen $2, so **$6** in all. Escaped: \$5."
    result, root = render_tree(raw)
    assert result.formulas == 0
    assert root.find_all("strong")[0].text() == "$6"
    assert root.text() == "A notebook costs $4 and a pen $2, so $6 in all. Escaped: $5."


def test_spaced_dollar_math_in_list_item():
    _, root = render_tree(r"- $ OE $ is the owner's equity,")
    (li,) = root.find_all("li")
    (math,) = li.find_all("math")
    assert math.text() == "OE"
    assert li.text().endswith("is the owner's equity,")


@pytest.mark.parametrize(
    ("raw", "display"),
    [
        (r"$x^2$", "inline"),
        (r"$ A $", "inline"),
        (r"\( x_1 \)", "inline"),
        (r"\[ x_1 \]", "block"),
        (r"$$x_1$$", "block"),
    ],
)
def test_each_math_notation(raw, display):
    result, root = render_tree(f"Text {raw} text")
    (math,) = root.find_all("math")
    assert math.attrs["display"] == display
    assert result.formulas == 1 and "$" not in root.text() and "\\" not in root.text()


def test_math_between_formulas_pairs_correctly():
    _, root = render_tree(r"three terms: $x^2y^2$, $6xy$, and $-3$.")
    assert len(root.find_all("math")) == 3
    assert "$" not in root.text()


def test_underscores_and_stars_in_math_are_not_emphasis():
    _, root = render_tree(r"$a_1 * b_2 * c_3$ and $x_1$ and $y_1$")
    assert not root.find_all("em") and not root.find_all("strong")
    assert len(root.find_all("math")) == 3


def test_math_in_code_is_not_math():
    result, root = render_tree(r"Use `$x_1$` or:\n\n```latex\n$$x_1 = y$$\n```")
    assert result.formulas == 0 and not root.find_all("math")
    assert root.find_all("code")[0].text() == "$x_1$"
    assert "$$x_1 = y$$" in root.find_all("pre")[0].text()


def test_unconvertible_formula_falls_back_to_source(caplog):
    with caplog.at_level(logging.WARNING, logger="articles.rendering"):
        result, root = render_tree(r"See $\frac{1}{$ and $x$.")
    (code,) = [c for c in root.find_all("code") if c.attrs.get("class") == "math-fallback"]
    assert code.text() == r"$\frac{1}{$"
    assert result.fallbacks == 1 and result.formulas == 1
    assert "shown as source" in caplog.text


def test_mhchem_subset_converts():
    result, root = render_tree(r"$\ce{N2O4(g) <=> 2NO2(g)}$")
    assert result.fallbacks == 0
    assert "⇌" in root.text() and root.find_all("msub")


# --- MathML as KaTeX builds it (operators, accents, limits, fences)


def formula(latex, display=True):
    """One formula rendered inside an answer -> its <math> Node."""
    raw = f"$${latex}$$" if display else f"Text ${latex}$ text"
    (math,) = render_tree(raw)[1].find_all("math")
    return math


def child_elements(node):
    return [c for c in node.children if isinstance(c, Node)]


@pytest.mark.parametrize(
    ("latex", "operator", "scripts"),
    [
        (r"\lim_{x \to 0} f(x)", "lim", "munder"),
        (r"\max_{i} a_i", "max", "munder"),
        (r"\min_{i} a_i", "min", "munder"),
        (r"\sup_{n} x_n", "sup", "munder"),
        (r"\inf_{n} x_n", "inf", "munder"),
        (r"\bigcup_{i=1}^{n} A_i", "⋃", "munderover"),
        (r"\bigcap_{i=1}^{n} A_i", "⋂", "munderover"),
    ],
)
def test_display_limits_go_under_the_operator(latex, operator, scripts):
    (base,) = [mo for mo in formula(latex).find_all("mo") if mo.text() == operator]
    assert base.parent.tag == scripts
    assert child_elements(base.parent)[0] is base


def test_a_limit_word_lets_the_browser_move_its_limits_beside_it_outside_display_style():
    # In a fraction's numerator TeX sets \lim's limits beside it: movablelimits does that.
    (lim,) = [mo for mo in formula(r"\frac{\lim_{x} f}{2}").find_all("mo") if mo.text() == "lim"]
    assert lim.parent.tag == "munder" and lim.attrs["movablelimits"] == "true"


@pytest.mark.parametrize(
    ("latex", "scripts"),
    [(r"\lim\nolimits_{x} f", "msub"), (r"\lim\limits_{x} f", "munder")],
)
def test_limits_and_nolimits_written_by_the_author_are_kept(latex, scripts):
    (lim,) = [mo for mo in formula(latex).find_all("mo") if mo.text() == "lim"]
    assert lim.parent.tag == scripts


def test_inline_limits_stay_beside_the_operator():
    (lim,) = [
        mo
        for mo in formula(r"\lim_{x \to 0} f", display=False).find_all("mo")
        if mo.text() == "lim"
    ]
    assert lim.parent.tag == "msub"


@pytest.mark.parametrize("command", [r"\vec", r"\bar", r"\dot", r"\hat", r"\overline"])
def test_accents_carry_the_accent_flag(command):
    (mover,) = formula(f"{command}{{x}} = 1").find_all("mover")
    assert mover.attrs.get("accent") == "true"
    base, mark = child_elements(mover)
    assert base.text() == "x" and mark.tag == "mo"


@pytest.mark.parametrize(
    ("latex", "stretchy"),
    [
        (r"\overline{AB}", "true"),
        (r"\widehat{AB}", "true"),
        (r"\widetilde{AB}", "true"),
        (r"\widecheck{AB}", "true"),
        (r"\vec{AB}", "false"),
        (r"\hat{AB}", "false"),
        (r"\tilde{AB}", "false"),
        (r"\bar{AB}", "false"),
    ],
)
def test_overline_and_wide_accents_stretch_over_their_base_and_others_keep_their_width(
    latex, stretchy
):
    (mover,) = formula(latex).find_all("mover")
    assert mover.attrs["accent"] == "true"
    assert child_elements(mover)[1].attrs["stretchy"] == stretchy


@pytest.mark.parametrize(("command", "symbol"), [(r"\pm", "±"), (r"\mp", "∓"), (r"\&", "&")])
def test_plus_minus_and_ampersand_are_operators(command, symbol):
    math = formula(f"a {command} b")
    assert symbol in [mo.text() for mo in math.find_all("mo")]
    assert symbol not in [mi.text() for mi in math.find_all("mi")]


@pytest.mark.parametrize(
    "latex",
    [r"|A| = |x - 1|", r"P(A|B)", r"\vert x \vert", r"\lvert x \rvert", r"\|v\| = 1"],
)
def test_bars_without_left_and_right_are_ordinary_symbols_as_in_katex(latex):
    math = formula(latex)
    bars = [n for n in math.iter() if n.text() in ("|", "‖")]
    assert bars and all(bar.tag == "mi" for bar in bars)


@pytest.mark.parametrize(
    "latex",
    [
        r"\det A = \begin{vmatrix} a & b \\ c & d \end{vmatrix}",
        r"\det A = \left| \begin{matrix} a & b \\ c & d \end{matrix} \right|",
    ],
)
def test_both_determinant_bars_are_stretchy_fences_around_the_table(latex):
    (table,) = formula(latex).find_all("mtable")
    left, middle, right = child_elements(table.parent)
    assert middle is table
    for bar, form in ((left, "prefix"), (right, "postfix")):
        assert (bar.tag, bar.text()) == ("mo", "|")
        assert bar.attrs == {"fence": "true", "form": form, "stretchy": "true"}


@pytest.mark.parametrize(
    ("environment", "left", "right"),
    [("pmatrix", "(", ")"), ("bmatrix", "[", "]"), ("Bmatrix", "{", "}"), ("Vmatrix", "‖", "‖")],
)
def test_every_fenced_matrix_has_stretchy_fences(environment, left, right):
    math = formula(rf"M = \begin{{{environment}}} a \\ b \end{{{environment}}}")
    (table,) = math.find_all("mtable")
    bars = [c for c in child_elements(table.parent) if c is not table]
    assert [(b.text(), b.attrs["stretchy"]) for b in bars] == [(left, "true"), (right, "true")]


# --------------------------------------------------------------------------- Markdown


def test_code_blocks_show_html_looking_text_and_are_highlighted():
    raw = (
        r"```cpp\n#include <cstdarg>\ndouble y = static_cast<double>(x);\n```\n\n"
        r"```html\n<b>x</b><script>alert(1)</script>\n```"
    )
    _, root = render_tree(raw)
    blocks = [d for d in root.find_all("div") if d.attrs.get("class") == "highlight"]
    assert len(blocks) == 2
    assert "#include <cstdarg>" in blocks[0].text()
    assert "static_cast<double>(x)" in blocks[0].text()
    assert blocks[0].find_all("span")  # Pygments token spans survive bleach
    assert "<b>x</b><script>alert(1)</script>" in blocks[1].text()
    assert not root.find_all("script") and not root.find_all("b")


def test_html_looking_text_outside_code_stays_visible():
    _, root = render_tree(r"Write #include <cstdarg> first, then use static_cast<double>.")
    assert "#include <cstdarg>" in root.text()
    assert "static_cast<double>" in root.text()


def test_table_with_centred_first_column():
    _, root = render_tree(r"| n | n² |\n|:-:|---|\n| 3 | 9 |")
    (table,) = root.find_all("table")
    assert [th.attrs.get("align") for th in table.find_all("th")] == ["center", None]
    assert [td.text() for td in table.find_all("td")] == ["3", "9"]
    assert table.find_all("td")[0].attrs["align"] == "center"


def test_two_space_nested_lists_nest_like_github():
    _, root = render_tree(r"- a\n  - b\n    - c\n- d")
    outer = root.find_all("ul")[0]
    assert [li.text().split("\n")[0] for li in outer.children if isinstance(li, Node)] == [
        "a",
        "d",
    ]
    assert len(root.find_all("ul")) == 3


def test_ordered_list_with_three_space_sublist():
    _, root = render_tree(r"1. **A**:\n   - x\n   - y\n2. **B**:\n   - z")
    (ol,) = root.find_all("ol")
    assert len([c for c in ol.children if isinstance(c, Node)]) == 2
    assert len(root.find_all("ul")) == 2


def test_list_right_after_a_paragraph_line_is_a_list():
    _, root = render_tree(r"It helps in:\n- one\n- two")
    assert len(root.find_all("li")) == 2


def test_fenced_code_inside_list_item():
    _, root = render_tree(r"1. Run:\n   ```python\n   x = 1\n   ```\n2. Done")
    (ol,) = root.find_all("ol")
    items = [c for c in ol.children if isinstance(c, Node)]
    assert len(items) == 2
    (pre,) = items[0].find_all("pre")
    assert pre.text() == "x = 1\n"


@pytest.mark.parametrize("marker", ["-", "1."])
@pytest.mark.parametrize("indent", [0, 2, 3, 4, 5, 6])
def test_a_fence_at_any_indentation_under_a_list_item_is_highlighted_code(marker, indent):
    pad = " " * indent
    raw = f"{marker} Run:\\n{pad}```python\\n{pad}x = 1\\n{pad}```\\n{marker} Done"
    _, root = render_tree(raw)
    (block,) = [d for d in root.find_all("div") if d.attrs.get("class") == "highlight"]
    assert block.text() == "x = 1\n" and block.find_all("span")
    assert "```" not in root.text() and "~~~" not in root.text()
    assert [li.text().strip() for li in root.find_all("li")][-1] == "Done"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("> ```python\n> x = 1\n> ```", "x = 1\n"),
        ("Text:\n\n    #include <cstdarg>\n    int x;", "#include <cstdarg>\nint x;\n"),
    ],
)
def test_code_blocks_the_engine_finds_itself_are_highlighted_too(raw, code):
    root = tree(render_markdown(raw).html)
    (block,) = [d for d in root.find_all("div") if d.attrs.get("class") == "highlight"]
    assert block.text() == code


def test_a_fence_under_a_paragraph_line_leaves_no_empty_paragraph():
    html = render_answer(r"Run:\n      ```python\n      x = 1\n      ```").html
    assert "<p></p>" not in html and html.startswith("<p>Run:</p>")
    assert '<div class="highlight">' in html


@pytest.mark.parametrize("marker", ["-", "1."])
def test_a_list_item_that_starts_with_a_fence_ends_its_code_at_the_closing_fence(marker):
    pad = " " * (len(marker) + 1)
    html = render_markdown(f"{marker} ```\n{pad}foo\n{pad}```\n\n{pad}bar\n").html
    root = tree(html)
    (li,) = root.find_all("li")
    (pre,) = li.find_all("pre")
    assert pre.text() == "foo\n"
    assert [p.text() for p in li.find_all("p")] == ["bar"]


def test_a_fence_keeps_its_blank_lines_and_an_empty_fence_stays_empty():
    (pre,) = tree(render_markdown("```\n\nx\n\n```").html).find_all("pre")
    assert pre.text() == "\nx\n\n"
    (pre,) = tree(render_markdown("```\n```").html).find_all("pre")
    assert pre.text() == ""
    # An unclosed fence runs to the end; the answer's last newline adds no line.
    (pre,) = tree(render_markdown("```\nx\n").html).find_all("pre")
    assert pre.text() == "x\n"


def test_a_tilde_fence_may_have_backticks_in_its_info_string():
    html = render_markdown("~~~ python ``` ~~~\nx = 1\n~~~\n\nafter").html
    root = tree(html)
    (pre,) = root.find_all("pre")
    assert pre.text() == "x = 1\n"
    assert [p.text() for p in root.find_all("p")] == ["after"]


@pytest.mark.parametrize(
    ("source", "text", "href"),
    [
        (r"\<br/> is not a tag", "<br/> is not a tag", None),
        (r"a \\<b> c", r"a \<b> c", None),
        ("[link](<my uri>)", "link", "my%20uri"),
        ("[link](<>)", "link", ""),
        ("[Foo]: <my url>\n\n[Foo]", "Foo", "my%20url"),
        # GFM ends a bare address at a `<`.
        ("www.example.org/a<b", "www.example.org/a<b", "http://www.example.org/a"),
    ],
)
def test_a_less_than_sign_that_cannot_open_raw_html_is_left_to_commonmark(source, text, href):
    root = tree(render_markdown(source).html)
    assert root.text().strip() == text
    links = root.find_all("a")
    assert [a.attrs["href"] for a in links] == ([] if href is None else [href])


def test_headings_get_ids_without_placeholder_debris():
    _, root = render_tree(r"### Key Figures\n\n### Formula $x$ here")
    ids = [h.attrs["id"] for h in root.find_all("h2")]
    assert ids == ["key-figures", "formula-here"]


def test_external_links_get_rel_and_internal_do_not():
    _, root = render_tree(r"[a](https://example.com/x) and [b](/learn/physics)")
    a, b = root.find_all("a")
    assert a.attrs["rel"] == "nofollow noopener"
    assert "rel" not in b.attrs


def test_bare_urls_are_linkified_as_on_github_but_file_names_are_not():
    _, root = render_tree(r"Edit main.py or see www.example.com")
    (a,) = root.find_all("a")
    assert a.attrs["href"] == "http://www.example.com" and a.text() == "www.example.com"
    assert a.attrs["rel"] == "nofollow noopener"


@pytest.mark.parametrize(
    "href",
    [
        "https://example.com/x",
        "http://example.com",
        "//evil.example/",
        r"/\\evil.example",
        r"\\\\evil.example",
        "mailto:someone@example.com",
    ],
)
def test_every_link_that_leaves_the_site_gets_rel(href):
    _, root = render_tree(f"[out]({href})")
    (a,) = root.find_all("a")
    assert a.attrs["rel"] == "nofollow noopener"


@pytest.mark.parametrize(
    "href",
    [
        "/learn/physics",
        "#part",
        "page",
        "http://127.0.0.1:8000/learn",
        "HTTP://127.0.0.1:8000/learn",
    ],
)
def test_links_that_stay_on_the_site_get_no_rel(href, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    _, root = render_tree(f"[in]({href})")
    (a,) = root.find_all("a")
    assert "rel" not in a.attrs


@pytest.mark.parametrize(
    "raw",
    [
        "<https://evil.example/>",
        "see https://evil.example/x",
        "write to someone@example.com",
        "<someone@example.com>",
    ],
)
def test_autolinks_that_leave_the_site_get_rel(raw):
    _, root = render_tree(raw)
    (a,) = root.find_all("a")
    assert a.attrs["rel"] == "nofollow noopener"


def test_a_tab_in_fenced_code_stays_a_tab():
    _, root = render_tree("```make\nall:\n\tcc -o x x.c\n```")
    (pre,) = root.find_all("pre")
    assert pre.text() == "all:\n\tcc -o x x.c\n"


def test_a_tab_in_code_in_a_list_item_stays_a_tab():
    root = tree(render_markdown("1. Run:\n   ```go\n   func f() {\n   \treturn\n   }\n   ```").html)
    (pre,) = root.find_all("pre")
    assert "\treturn" in pre.text()


# --------------------------------------------------------------------------- CommonMark + GFM


def test_an_ordered_list_keeps_its_start_number():
    _, root = render_tree(r"1. First step.\n\nSome text between.\n\n3. Third step.")
    first, second = root.find_all("ol")
    assert "start" not in first.attrs and second.attrs["start"] == "3"


def test_a_loose_list_is_one_list_with_paragraphs():
    _, root = render_tree(r"- one\n\n- two\n\n- three")
    (ul,) = root.find_all("ul")
    assert len(ul.find_all("li")) == 3 and len(ul.find_all("p")) == 3


def test_four_space_nested_lists_nest():
    _, root = render_tree(r"1. a\n    - b\n    - c\n2. d")
    (ol,) = root.find_all("ol")
    (ul,) = ol.find_all("ul")
    assert [li.text() for li in ul.find_all("li")] == ["b", "c"]


def test_a_table_inside_a_list_item():
    _, root = render_tree(r"- Values:\n\n  | x | y |\n  |---|---|\n  | 1 | 2 |")
    (li,) = root.find_all("li")
    (table,) = li.find_all("table")
    assert [td.text() for td in table.find_all("td")] == ["1", "2"]


def test_a_table_right_after_a_bold_line():
    _, root = render_tree(r"**Results**\n| x | y |\n|---|---|\n| 1 | 2 |")
    assert root.find_all("strong")[0].text() == "Results"
    (table,) = root.find_all("table")
    assert [th.text() for th in table.find_all("th")] == ["x", "y"]


def test_an_escaped_pipe_in_a_table_cell_loses_its_backslash():
    _, root = render_tree(r"| expr | means |\n|---|---|\n| a \| b | or |")
    assert [td.text() for td in root.find_all("td")] == ["a | b", "or"]


def test_double_tilde_strikes_through_and_a_single_tilde_is_text():
    _, root = render_tree(r"~~old~~ new, about ~5 kg or ~6 kg")
    (struck,) = root.find_all("del")
    assert struck.text() == "old"
    assert root.text() == "old new, about ~5 kg or ~6 kg"


# --------------------------------------------------------------------------- sanitising


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        r"$\text{<script>alert(1)</script>}$",
        r"$\href{javascript:alert(1)}{x}$",
        r"$\style{background:url(javascript:alert(1))}{x}$",
        r"$$\text{</math><script>alert(1)</script>}$$",
        r"[click](\(javascript:alert(1)\))",
        r"[x]($$javascript:alert(1)$$)",
        r'[x](/learn "$" onmouseover="alert(1)$")',
    ],
)
def test_no_script_handler_or_javascript_url(raw):
    _, root = render_tree(raw)
    assert not root.find_all("script") and not root.find_all("img")
    for _tag, name, value in all_attrs(root):
        assert not name.startswith("on")
        assert name not in ("href", "src", "style") or "javascript" not in value.lower()


def test_text_command_with_markup_stays_inert_text():
    _, root = render_tree(r"$\text{<script>alert(1)</script>}$")
    (mtext,) = root.find_all("mtext")
    assert mtext.text() == "<script>alert(1)</script>"


def test_placeholder_characters_in_input_cannot_forge_formulas():
    result = render_markdown("a \ue000\ue100\ue001 b $x$")
    assert result.formulas == 1 and "\ue000" not in result.html


def test_rendering_is_deterministic_and_typed():
    raw = r"### T\n\n$x$ and $$y$$\n\n```python\nx = 1\n```"
    first, second = render_answer(raw), render_answer(raw)
    assert isinstance(first, RenderResult) and first == second


class _DomEvents(HTMLParser):
    """A fragment's DOM as a list of events: tags with sorted attributes, and text.

    Serialisers differ in how they escape (``&#x27;`` vs ``'``) and order attributes;
    two fragments with the same events are the same page for a reader.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.events = []

    def handle_starttag(self, tag, attrs):
        self.events.append(("start", tag, tuple(sorted(attrs))))

    def handle_endtag(self, tag):
        self.events.append(("end", tag))

    def handle_data(self, data):
        if self.events and self.events[-1][0] == "text":
            self.events[-1] = ("text", self.events[-1][1] + data)
        else:
            self.events.append(("text", data))


def dom(fragment):
    parser = _DomEvents()
    parser.feed(fragment)
    parser.close()
    return parser.events


def _sanitiser_cases():
    yield r"# H\n\n- a\n  - b\n\n| x |\n|:-:|\n| 1 |\n\n```c\nint x;\n```"
    yield r"<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    yield r"[ext](https://example.org/a?b=1&c='2') and [mail](mailto:a@b.c) and `<b>`"
    yield r"A notebook costs $4 and a pen $2, so **$6** in all. Escaped: \$5."
    yield r"```html\n<b>x</b><script>alert(1)</script>\n```\n\n> quote \"double\" 'single'"


def ours_and_bleachs(raw):
    """A corpus answer, its math protected and its Markdown rendered, sanitised by the
    renderer (nh3) and by bleach with the same allow-list (escaping, never dropping, what
    is not allowed, as django-markdownify configured it)."""
    text, _ = protect(decode_answer(raw))
    markup = markdown_to_html(text)
    cleaner = bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=False,
        strip_comments=True,
    )
    return clean(markup), cleaner.clean(markup)


@pytest.mark.parametrize("raw", list(_sanitiser_cases()))
def test_nh3_sanitises_to_the_same_dom_as_bleach(raw):
    ours, theirs = ours_and_bleachs(raw)
    assert dom(ours) == dom(theirs)


@pytest.mark.corpus
def test_nh3_and_bleach_agree_on_a_corpus_sample():
    compared = 0
    for path, raw in corpus_answers(step=25):
        ours, theirs = ours_and_bleachs(raw)
        assert dom(ours) == dom(theirs), path
        compared += 1
    assert compared > 1000


def test_renderer_version_is_an_int():
    assert isinstance(rendering.RENDERER_VERSION, int)


# --------------------------------------------------------------------------- corpus


@pytest.mark.corpus
def test_sampled_corpus_renders_without_visible_math():
    problems, fallbacks, formulas = [], 0, 0
    for path, raw in corpus_answers(step=20):
        result = render_answer(raw)
        formulas += result.formulas
        fallbacks += result.fallbacks
        if visible_math(result.html):
            problems.append(path)
    assert problems == []
    assert formulas > 500 and fallbacks <= formulas // 200


@pytest.mark.parametrize(
    "raw, levels",
    [
        (r"### Intro\n\ntext\n\n#### Detail", ["h2", "h3"]),
        (r"# Title\n\n## Part", ["h2", "h3"]),
        (r"## Already right\n\n### Below", ["h2", "h3"]),
        (r"#### Deep\n\n###### Deepest", ["h2", "h4"]),
    ],
)
def test_an_answers_top_heading_becomes_h2_under_the_page_h1(raw, levels):
    html = render_answer(raw).html
    assert re.findall(r"<(h[1-6])\b", html) == levels


# Table of contents -------------------------------------------------------------------

THREE_SECTIONS = r"Intro.\n\n### Step 1: Set up\n\nA.\n\n### Step 2: Solve $x^2 = 4$\n\nB.\n\n#### A detail\n\nC."


def test_an_answer_with_three_headings_gets_a_table_of_contents_before_it():
    html = render_answer(THREE_SECTIONS).html
    assert html.startswith('<nav class="toc" aria-label="Contents">')
    nav = html[: html.index("</nav>")]
    links = re.findall(r'<li class="toc__level-(\d)"><a href="#([^"]+)">(.*?)</a></li>', nav)
    assert links == [
        ("1", "step-1-set-up", "Step 1: Set up"),
        ("1", "step-2-solve", "Step 2: Solve x^2 = 4"),
        ("2", "a-detail", "A detail"),
    ]
    # Every link leads to a heading of the answer.
    body = html[html.index("</nav>") :]
    for _, anchor, _ in links:
        assert f'id="{anchor}"' in body


def test_an_answer_with_fewer_than_three_headings_gets_no_table_of_contents():
    html = render_answer(r"### One\n\nA.\n\n### Two\n\nB.").html
    assert "<nav" not in html


def test_the_table_of_contents_is_the_same_on_every_render():
    assert render_answer(THREE_SECTIONS).html == render_answer(THREE_SECTIONS).html


def test_a_heading_never_takes_an_id_the_page_uses():
    html = render_answer(r"### Answer\n\nA.\n\n### Content\n\nB.").html
    assert re.findall(r'<h2 id="([^"]+)"', html) == ["answer_1", "content_1"]


def test_answer_html_cannot_smuggle_a_table_of_contents():
    html = render_answer(r'<nav class="toc"><a href="#x">fake</a></nav>\n\nText.').html
    assert "<nav" not in html


# ---- Images: the site's own, responsive; any other dropped --------------------------------

OWN_IMAGE = "/media/images/0123456789ab-1200x800-webp/pulley.png"


def test_an_own_image_renders_with_size_srcset_and_lazy_loading():
    html = render_markdown(f'See ![A pulley with $m_1$](<{OWN_IMAGE}> "Pulley").').html
    img = re.search(r"<img [^>]*>", html).group()
    assert f'src="{OWN_IMAGE}"' in img
    assert 'alt="A pulley with m_1"' in img
    assert 'width="1200"' in img and 'height="800"' in img
    assert 'loading="lazy"' in img and 'title="Pulley"' in img
    assert (
        'srcset="/media/images/0123456789ab-1200x800-webp/pulley-480w.webp 480w, '
        "/media/images/0123456789ab-1200x800-webp/pulley-960w.webp 960w, "
        f'{OWN_IMAGE} 1200w"'
    ) in img
    assert 'sizes="(max-width: 1200px) 100vw, 1200px"' in img


def test_an_own_image_without_renditions_lists_only_itself():
    html = render_markdown("![s](/media/images/0123456789ab-300x200/s.gif)").html
    assert 'srcset="/media/images/0123456789ab-300x200/s.gif 300w"' in html


@pytest.mark.parametrize(
    "src",
    [
        "https://example.com/x.png",
        "//example.com/media/images/0123456789ab-1200x800/x.png",
        "/media/images/0123456789ab-1200x800-webp/pulley-480w.webp",  # a rendition
        "/media/imports/0123456789ab-1200x800/x.png",
        "/media/images/0123456789ab-1200x800/../../secret.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
    ],
)
def test_an_image_that_is_not_the_sites_own_is_not_rendered(src):
    html = render_markdown(f"a ![x](<{src}>) b").html
    assert "<img" not in html
    assert [ref.own for ref in rendering.image_references(f"a ![x](<{src}>) b")] == [None]


def test_the_sanitiser_keeps_only_own_addresses_in_img():
    kept = clean(f'<img src="{OWN_IMAGE}" alt="a" srcset="{OWN_IMAGE} 1200w">')
    assert f'src="{OWN_IMAGE}"' in kept and "srcset" in kept
    dropped = clean('<img src="https://example.com/x.png" srcset="https://e.com/x 1w" alt="a">')
    assert "example.com" not in dropped and "e.com" not in dropped


def test_image_references_lists_every_image_in_order():
    refs = rendering.image_references(f"![one]({OWN_IMAGE})\n\n[![two](https://e.com/t.png)](/l)")
    assert [(ref.alt, ref.own is not None) for ref in refs] == [("one", True), ("two", False)]
    assert rendering.image_references("`![code](https://e.com/x.png)`") == []


def test_a_short_formula_is_converted_once_per_process_and_a_long_one_every_time(monkeypatch):

    calls = []
    original = math.convert_to_element

    def counting(latex, **kwargs):
        calls.append(latex)
        return original(latex, **kwargs)

    monkeypatch.setattr(math, "convert_to_element", counting)
    math.forget_converted()
    short = r"\frac{a}{b} + \sqrt{x}"
    long = " + ".join(f"x_{{{n}}}" for n in range(40))
    assert len(long) > math.CONVERTED_MAX_LENGTH
    first = render_markdown(f"One ${short}$ and ${long}$.").html
    second = render_markdown(f"Two ${short}$ and ${long}$.").html
    assert first.split("One ", 1)[1] == second.split("Two ", 1)[1]
    assert sum(short in latex for latex in calls) == 1
    assert sum("x_{39}" in latex for latex in calls) == 2
    # The memory is bounded in characters: the oldest go first.
    monkeypatch.setattr(math, "CONVERTED_MAX_CHARACTERS", len(math.latex_to_mathml("y", False)))
    math.latex_to_mathml("z", False)
    assert list(math._converted) == [("z", False)]
    # A formula that cannot be converted is refused every time, never remembered as one.
    for _ in range(2):
        with pytest.raises(math.FormulaError):
            math.latex_to_mathml(r"\unknowncmd{x}", False)
    math.forget_converted()


def test_the_span_scanner_hands_each_caller_its_own_list():
    # Recent texts' spans are kept (an answer is scanned three times on import): a caller
    # changing its list must not change what the next caller gets.
    text = "The area $a^2$ of a square, in `code`."
    first = math.scan(text)
    first.clear()
    assert [span.kind for span in math.scan(text)] == ["math", "code"]
