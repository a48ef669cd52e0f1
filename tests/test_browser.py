"""Readers' pages in a real browser (Debian's Chromium through Playwright): math, code and
tables as a reader sees them, pages without JavaScript, layout at 360, 768 and 1280 px in
both colour schemes (screenshots into test-artifacts/screenshots/, never committed), axe-core
accessibility checks, keyboard use, print layout and the page-weight budget. Skipped where
/usr/bin/chromium is absent; the admin's own browser test lives in test_admin_browser.py."""

import base64
import gzip
import re

import pytest
from django.utils.text import compress_string

from articles import views
from articles.importing import import_paths
from tests.conftest import CHROMIUM, screenshot

MOMENTUM = "/learn/computer-science/questions/how-do-momentum-based-optimizers-update-weights"
CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)
PERFECT_SQUARE = "/learn/mathematics/questions/how-do-you-expand-a-perfect-square"
MATRIX = "/learn/mathematics/questions/what-does-it-mean-for-a-matrix-to-be-invertible"
SORTING = "/learn/computer-science/questions/how-do-sorting-algorithms-compare"

#: One address of each kind of page a reader or an editor lands on.
PAGE_KINDS = {
    "index": "/learn",
    "subject": "/learn/mathematics",
    "article": SORTING,
    "search": "/search?q=matrix",
    "404": "/learn/no-such-subject",
    "admin-login": "/admin/login/",
}
WIDTHS = (360, 768, 1280)
SCHEMES = ("light", "dark")

#: The page-weight budget: an article page with math, code and a table.
BUDGET_BYTES = 60 * 1024
BUDGET_REQUESTS_BEFORE_PAINT = 3

# An answer with everything that can be too wide for a phone: a long display formula, a
# table of eight columns and a code block with a long line; written as the corpus writes
# answers (backslash-n for newlines).
SORTING_ANSWER = (
    r"Quicksort splits the list around a pivot and sorts both sides; on average it makes"
    r" $O(n \log n)$ comparisons, and $\Theta(n^2)$ when every pivot is the smallest item."
    r"\n\nThe expected number of comparisons is"
    r"\n\n$$\nC(n) = \sum_{i=1}^{n-1} \sum_{j=i+1}^{n} \frac{2}{j - i + 1}"
    r" = 2(n + 1) H_n - 4n \approx 1.39\, n \log_2 n - 2.85\, n + 2 \log_2 n + 1.7\n$$"
    r"\n\nwhich is, written out, $C(n) = 2(n+1)\left(1 + \frac{1}{2} + \frac{1}{3} + \dots"
    r" + \frac{1}{n}\right) - 4n$ for every $n \geq 1$."
    r"\n\n| Algorithm | Best case | Average case | Worst case | Extra memory | Stable |"
    r" In place | Typical use |\n|---|---|---|---|---|---|---|---|"
    r"\n| Quicksort | O(n log n) | O(n log n) | O(n²) | O(log n) | no | yes |"
    r" general-purpose sorting of arrays in memory |"
    r"\n| Merge sort | O(n log n) | O(n log n) | O(n log n) | O(n) | yes | no |"
    r" linked lists, external sorting of files larger than memory |"
    r"\n| Heapsort | O(n log n) | O(n log n) | O(n log n) | O(1) | no | yes |"
    r" guaranteed worst case with constant extra memory |"
    r"\n\nIn Python:\n\n```python\n# Sorts a new list; in is an operator word.\n"
    r"def quicksort(items):\n    if len(items) <= 1:\n"
    r"        return items\n    pivot, *rest = items\n"
    r"    smaller_items_than_the_pivot = [item for item in rest if item < pivot]"
    r"  # a deliberately long line\n"
    r"    return quicksort(smaller_items_than_the_pivot) + [pivot]"
    r" + quicksort([item for item in rest if item >= pivot])\n```"
)

pytestmark = [
    pytest.mark.browser,
    # The live server reads committed rows; tests/conftest.py puts back what the
    # migrations wrote (the Editors group) before each test.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def open_page(new_page):
    """open_page(width=1280, scheme="light", javascript=True) -> a Page 800 px high in a
    fresh context."""

    def open_(width=1280, scheme="light", javascript=True, **options):
        return new_page(
            width, height=800, color_scheme=scheme, java_script_enabled=javascript, **options
        )

    return open_


@pytest.fixture
def site(sample_site, write_article, tmp_path):
    """The sample site plus one article holding a wide formula, table and code block."""
    write_article(
        slug="how-do-sorting-algorithms-compare",
        subject="computer-science",
        subject_name="Computer Science",
        question="How do sorting algorithms compare?",
        title="How do sorting algorithms compare?",
        article_title="How do sorting algorithms compare?",
        answer=SORTING_ANSWER,
    )
    report = import_paths([tmp_path / "learn"], workers=1)
    assert not report.errors, report.errors
    return sample_site


def visible_text(page):
    return page.evaluate("document.body.innerText")


# Elements whose right or left edge leaves the viewport, unless a scrolling box (a wide
# table, formula or code block) holds them: those scroll inside their box, not the page.
OVERFLOWING_ELEMENTS = """() => {
  const width = document.documentElement.clientWidth;
  const clippedByAncestor = (element) => {
    for (let node = element.parentElement; node && node !== document.body; node = node.parentElement) {
      if (getComputedStyle(node).overflowX !== "visible") return true;
    }
    return false;
  };
  const out = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || (box.right <= width + 0.5 && box.left >= -0.5)) continue;
    if (element.closest(".visually-hidden, .skip-link") || clippedByAncestor(element)) continue;
    out.push(element.tagName.toLowerCase() + (element.className ? "." + element.className : ""));
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, elements: out};
}"""


# --- math, code and tables as a reader sees them --------------------------------------


@pytest.mark.parametrize("path", [MOMENTUM, CHAIN_RULE, PERFECT_SQUARE, MATRIX])
def test_formulas_render_as_mathml_with_no_latex_left_on_screen(open_page, live_server, site, path):
    page = open_page()
    page.goto(live_server.url + path)
    formulas = page.locator(".answer math")
    assert formulas.count() >= 2
    for index in range(formulas.count()):
        box = formulas.nth(index).bounding_box()
        assert box and box["height"] > 0 and box["width"] > 0, f"formula {index} has no size"
    text = visible_text(page)
    for source in ("\\frac", "$$", "\\(", "\\)", "\\[", "\\begin"):
        assert source not in text
    assert page.locator(".answer .math-fallback").count() == 0


def test_article_with_display_and_inline_math_and_code_shows_all_three(
    open_page, live_server, site
):
    page = open_page()
    page.goto(live_server.url + MOMENTUM)
    display = page.locator(".answer .math-display math[display=block]")
    inline = page.locator(".answer .math-inline math")
    assert display.count() == 1 and inline.count() == 3
    assert display.bounding_box()["height"] > 0 and inline.first.bounding_box()["height"] > 0
    # Display math is laid out in display style on a line of its own; inline math is
    # compact, inside its sentence's paragraph.
    assert display.evaluate("e => getComputedStyle(e).mathStyle") == "normal"
    assert display.evaluate("e => getComputedStyle(e).display") == "block math"
    assert inline.first.evaluate("e => getComputedStyle(e).mathStyle") == "compact"
    assert inline.first.evaluate("e => e.closest('p') !== null")
    code = page.locator(".answer .highlight pre")
    assert "velocity = beta * velocity + (1 - beta) * grad" in code.inner_text()
    # Token colours come from highlight.css: a keyword-free line still colours operators.
    operator = page.locator(".answer .highlight .o").first
    assert operator.evaluate("e => getComputedStyle(e).color") != code.evaluate(
        "e => getComputedStyle(e).color"
    )


def test_formulas_are_exposed_as_math_to_assistive_technology(open_page, live_server, site):
    page = open_page()
    page.goto(live_server.url + MOMENTUM)
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    math_nodes = [n for n in nodes if n.get("role", {}).get("value") in {"math", "MathMLMath"}]
    assert len(math_nodes) == page.locator(".answer math").count() == 4
    # Each formula carries its symbols in the accessibility tree, not an empty box.
    names = " ".join(
        n.get("name", {}).get("value", "")
        for n in nodes
        if n.get("role", {}).get("value") in {"StaticText", "MathMLIdentifier", "MathMLOperator"}
    )
    # Chromium may name a single-letter identifier by its mathematical italic form (𝛽).
    assert ("β" in names or "𝛽" in names) and "∇" in names


def test_wide_table_formula_and_code_scroll_inside_their_box_on_a_phone(
    open_page, live_server, site
):
    page = open_page(width=360)
    page.goto(live_server.url + SORTING)
    overflow = page.evaluate(OVERFLOWING_ELEMENTS)
    assert overflow["scrollWidth"] <= overflow["width"], overflow
    for selector in (
        ".answer table",
        ".answer .math-display",
        ".answer pre",
        ".answer .math-inline",
    ):
        # The widest of each kind: an inline formula wider than the phone scrolls too.
        boxes = page.locator(selector)
        box = max(
            (boxes.nth(i) for i in range(boxes.count())),
            key=lambda b: b.evaluate("e => e.scrollWidth"),
        )
        scroll_width, client_width = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert scroll_width > client_width, f"{selector} does not scroll"
        # site.js makes a box that scrolls reachable from the keyboard.
        assert box.get_attribute("tabindex") == "0"
    assert page.locator(".answer table th", has_text="Typical use").count() == 1


DETERMINANT = "/learn/mathematics/questions/how-do-you-compute-a-2x2-determinant"
DETERMINANT_ANSWER = (
    r"For a matrix with rows $(a, b)$ and $(c, d)$:"
    r"\n\n$$\det A = \begin{vmatrix} a & b \\ c & d \end{vmatrix} = ad - bc$$"
    r"\n\nWritten with delimiters:"
    r"\n\n$$\det A = \left| \begin{matrix} a & b \\ c & d \end{matrix} \right| = ad - bc$$"
)

# Mean brightness (0 to 255) of each pixel column of a PNG, decoded by the browser.
PNG_COLUMN_BRIGHTNESS = """async (data) => {
  const image = new Image();
  image.src = "data:image/png;base64," + data;
  await image.decode();
  const canvas = new OffscreenCanvas(image.width, image.height);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  const columns = new Array(image.width).fill(0);
  for (let i = 0; i < pixels.length; i += 4) {
    columns[(i / 4) % image.width] += (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
  }
  return columns.map((sum) => sum / image.height);
}"""


@pytest.fixture
def determinant_site(site, write_article, tmp_path):
    """The site plus one article with a determinant written both ways."""
    write_article(
        slug="how-do-you-compute-a-2x2-determinant",
        id=2,
        question="How do you compute a 2x2 determinant?",
        title="How do you compute a 2x2 determinant?",
        article_title="How do you compute a 2x2 determinant?",
        answer=DETERMINANT_ANSWER,
    )
    report = import_paths([tmp_path / "learn"], workers=1)
    assert not report.errors, report.errors
    return site


def test_both_bars_of_a_determinant_stretch_to_the_same_height(
    open_page, live_server, determinant_site
):
    page = open_page(width=390)
    page.goto(live_server.url + DETERMINANT)
    formulas = page.locator(".answer .math-display math")
    assert formulas.count() == 2
    for index in range(2):
        bars, table = formulas.nth(index).evaluate(
            """math => [
              [...math.querySelectorAll("mo")].filter((mo) => mo.textContent === "|")
                .map((mo) => mo.getBoundingClientRect().height),
              math.querySelector("mtable").getBoundingClientRect().height,
            ]"""
        )
        assert len(bars) == 2, bars
        left, right = bars
        assert abs(left - right) < 0.5, f"formula {index}: bars of {left} and {right} px"
        assert left >= 0.9 * table, f"formula {index}: bars of {left} px, table {table} px"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_wide_formula_on_a_phone_shows_that_it_scrolls(open_page, live_server, site, scheme):
    page = open_page(width=390, scheme=scheme)
    page.goto(live_server.url + SORTING)
    box = page.locator(".answer .math-display").first
    scroll_width, client_width = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert box.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert scroll_width > client_width + 50
    # Only the box's own background is measured: the formula is hidden, its layout kept.
    box.evaluate("e => { e.querySelector('math').style.visibility = 'hidden'; }")
    decoder = open_page()

    def edges():
        columns = decoder.evaluate(
            PNG_COLUMN_BRIGHTNESS, base64.b64encode(box.screenshot()).decode()
        )
        middle = len(columns) // 2
        plain = sum(columns[middle - 10 : middle + 10]) / 20
        # How far each edge is from the middle: darker in the light scheme, lighter in the dark.
        return abs(plain - sum(columns[:4]) / 4), abs(plain - sum(columns[-4:]) / 4)

    left, right = edges()
    assert right > 5 and left < 1, (left, right)  # more formula to the right only
    box.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    left, right = edges()
    assert left > 5 and right < 1, (left, right)  # and at the end, to the left only


def test_copy_button_copies_a_code_block(open_page, live_server, site):
    page = open_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(live_server.url + MOMENTUM)
    button = page.get_by_role("button", name="Copy code")
    button.click()
    page.get_by_role("button", name="Copied").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == ("velocity = beta * velocity + (1 - beta) * grad\nweights -= lr * velocity")


# --- no script needed ------------------------------------------------------------------


def test_every_page_reads_with_javascript_off(open_page, live_server, site):
    page = open_page(width=360, javascript=False)
    page.goto(live_server.url + SORTING)
    assert "Quicksort splits the list" in visible_text(page)
    assert page.locator(".answer math").first.bounding_box()["height"] > 0
    assert page.locator(".copy-button").count() == 0  # the enhancement simply is not there
    page.goto(live_server.url + "/learn")
    page.get_by_role("link", name=re.compile(r"^Mathematics 3 questions$")).click()
    page.get_by_role("link", name="How do you expand a perfect square?").click()
    assert page.locator("h1").inner_text() == "How do you expand a perfect square?"
    page.get_by_role("searchbox", name="Search questions").fill("matrix")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=matrix"))
    assert (
        page.get_by_role("link", name="What does it mean for a matrix to be invertible?").count()
        == 1
    )


def test_pagination_works_without_javascript(open_page, live_server, site, monkeypatch):
    monkeypatch.setattr(views.SubjectDetailView, "paginate_by", 2)
    page = open_page(javascript=False)
    page.goto(live_server.url + "/learn/mathematics")
    pages = page.get_by_role("navigation", name="Pages")
    assert pages.locator("[aria-current=page]").inner_text() == "1"
    pages.get_by_role("link", name="Older →").click()
    page.wait_for_url(re.compile(r"/learn/mathematics\?page=2$"))
    assert page.locator(".question-list li").all_inner_texts() == [
        "What does it mean for a matrix to be invertible?"
    ]
    assert page.locator(".question-list").get_attribute("start") == "3"


# --- layout: three widths, two colour schemes, screenshots, print ------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_overflows_the_viewport_and_screenshots_are_saved(
    open_page, live_server, site, width, scheme
):
    page = open_page(width=width, scheme=scheme)
    problems = {}
    for kind, path in PAGE_KINDS.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        overflow = page.evaluate(OVERFLOWING_ELEMENTS)
        if overflow["elements"] or overflow["scrollWidth"] > overflow["width"]:
            problems[kind] = overflow
        screenshot(page, f"{kind}-{width}-{scheme}.png", full_page=True)
    assert not problems, problems


@pytest.mark.parametrize("scheme", SCHEMES)
def test_colour_scheme_follows_the_system_setting(open_page, live_server, site, scheme):
    page = open_page(scheme=scheme)
    page.goto(live_server.url + MOMENTUM)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = map(int, re.findall(r"\d+", background)[:3])
    luminance = (red + green + blue) / 3
    assert luminance > 200 if scheme == "light" else luminance < 60


def test_print_layout_hides_navigation_and_shows_tables_whole(open_page, live_server, site):
    page = open_page()
    page.goto(live_server.url + SORTING)
    page.emulate_media(media="print")
    for selector in (".site-header", ".site-footer", ".breadcrumbs", ".back-link"):
        assert not page.locator(selector).is_visible(), selector
    assert page.locator(".answer table").evaluate("e => getComputedStyle(e).display") == "table"
    assert page.locator("h1").is_visible()
    assert page.locator(".answer pre").evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"


def test_pages_load_without_console_errors_or_blocked_resources(open_page, live_server, site):
    # A resource the Content-Security-Policy blocks, a missing file or a script error
    # all show up here.
    page = open_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    for kind, path in PAGE_KINDS.items():
        page.goto(live_server.url + path, wait_until="load")
        expected_404 = kind == "404"
        found = [e for e in errors if not (expected_404 and "404" in e)]
        assert not found, (kind, found)
        errors.clear()


# --- accessibility -----------------------------------------------------------------------


@pytest.mark.parametrize("width", (360, 1280))
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_axe_finds_no_serious_or_critical_violation(
    open_page, live_server, site, kind, scheme, width
):
    # axe checks what is on screen: text scrolled out of a code box is not judged, so
    # both a phone and a desktop width are checked.
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(width=width, scheme=scheme)
    page.goto(live_server.url + PAGE_KINDS[kind])
    page.wait_for_load_state("load")
    results = Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not serious, "\n".join(serious)


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(open_page, live_server, site):
    page = open_page(width=360)
    page.goto(live_server.url + MOMENTUM)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    box = page.locator(".skip-link").bounding_box()
    assert box["y"] >= 0 and box["x"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")
    # The next stop is inside the content, not back in the header.
    assert page.evaluate("document.getElementById('content').contains(document.activeElement)")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_keyboard_focus_is_visible(open_page, live_server, site, scheme):
    page = open_page(scheme=scheme)
    page.goto(live_server.url + "/learn")
    for _ in range(2):  # the skip link, then the brand link
        page.keyboard.press("Tab")
    outline = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
    )
    assert outline[0] == "solid" and outline[1] >= 2


def test_search_box_in_the_header_is_labelled(open_page, live_server, site):
    page = open_page(width=360)
    page.goto(live_server.url + MOMENTUM)
    search = page.get_by_role("search")
    assert search.get_by_role("searchbox", name="Search questions").is_visible()
    assert page.get_by_role("banner").get_by_role("search").count() == 1
    assert page.get_by_role("main").count() == 1 and page.get_by_role("contentinfo").count() == 1
    crumbs = page.get_by_role("navigation", name="Breadcrumb").locator("li")
    assert crumbs.all_inner_texts() == [
        "Learn",
        "Computer Science",
        "How do momentum-based optimizers update weights?",
    ]
    assert crumbs.last.locator("[aria-current=page]").count() == 1


# --- budget --------------------------------------------------------------------------------


def test_article_page_weight_and_requests_before_first_paint_are_within_budget(
    open_page, live_server, site
):
    """The article with math, a table and code: HTML + CSS + JS at most 60 KB compressed
    (HTML at GZipMiddleware's level, static files at WhiteNoise's), at most 3 requests
    before first paint (the page and its render-blocking resources)."""
    page = open_page(width=360)
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(live_server.url + SORTING, wait_until="load")
    bodies = {
        response.url: (response.request.resource_type, response.body())
        for response in responses
        if response.request.resource_type in {"document", "stylesheet", "script"}
    }
    kinds = sorted(kind for kind, _ in bodies.values())
    assert kinds == ["document", "script", "stylesheet", "stylesheet"]
    compressed = sum(
        len(compress_string(body) if kind == "document" else gzip.compress(body, 9, mtime=0))
        for kind, body in bodies.values()
    )
    assert compressed <= BUDGET_BYTES, compressed

    blocking = page.evaluate(
        "performance.getEntriesByType('resource')"
        ".filter(e => e.renderBlockingStatus === 'blocking').map(e => e.name)"
    )
    assert 1 + len(blocking) <= BUDGET_REQUESTS_BEFORE_PAINT, blocking
    # Nothing leaves the site: no fonts, scripts or analytics from elsewhere.
    origins = page.evaluate(
        "performance.getEntriesByType('resource').map(e => new URL(e.name).origin)"
    )
    assert set(origins) <= {live_server.url}
