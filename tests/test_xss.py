"""Cross-site scripting: attack strings in every text field a front matter file can carry,
imported, then read back from every page kind, the admin, the feeds, the sitemap and the
JSON-LD. Each must show the string as text (where it is shown at all) and nothing it could
run: no script but the site's own files and JSON-LD data, no event handler attribute, no
javascript: address, no element an attack brings (iframe, object, img from elsewhere)."""

import json
import operator
import re
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
import yaml

from articles import search
from articles.frontmatter import parse_bytes
from articles.importing import import_paths
from articles.models import Article, RelatedLink, RelatedSuggestion
from articles.plaintext import readable_text

pytestmark = pytest.mark.django_db

#: Attack strings, each under 50 characters (the shortest column they go into).
ATTACKS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": '"><img src=x onerror=alert(1)>',
    "close-script": "</script><script>alert(1)</script>",
    "javascript-url": "javascript:alert(1)",
    "template": "{{ 7*7 }}{% debug %}",
    "attribute-break": "' onmouseover='alert(1)",
    "svg-onload": "<svg/onload=alert(1)>",
    "comment": "<!--<script>alert(1)//-->",
    "escaped-markup": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "line-separators": "a\u2028b\u2029c</script><b>",
    "markdown-link": "[click](javascript:alert(1))",
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
}

SITE_URL = "https://learn.example.com"  # tests/conftest.py sets it for every test
PLACE = "mathematics"
ELSEWHERE = "/learn/mathematics/questions/somewhere-else"


def _related(**fields):
    link = {"id": 2, "title": "Another question", "subject": "Mathematics", "url": ELSEWHERE}
    return {**link, **fields}


#: field -> how it is set in the front matter, from the attack string.
FIELDS = {
    "title": lambda fm, attack: fm.update(title=attack),
    "article_title": lambda fm, attack: fm.update(article_title=attack),
    "question": lambda fm, attack: fm.update(question=attack),
    "answer": lambda fm, attack: fm.update(answer=attack),
    "seo_title": lambda fm, attack: fm["seo"].update(title=attack),
    "seo_description": lambda fm, attack: fm["seo"].update(page_description=attack),
    "seo_keywords": lambda fm, attack: fm["seo"].update(page_keywords=attack),
    "subject_name": lambda fm, attack: fm.update(subject=attack),
    "related_title": lambda fm, attack: fm.update(related_article1=_related(title=attack)),
    "related_url": lambda fm, attack: fm.update(related_article1=_related(url=attack)),
    "related_subject": lambda fm, attack: fm.update(related_article1=_related(subject=attack)),
    "date_format": lambda fm, attack: fm.update(date_format=attack),
    "author": lambda fm, attack: fm.update(author=attack),
    "post_on_text": lambda fm, attack: fm.update(post_on_text=attack),
    "extra_key": lambda fm, attack: fm.update(editor_note=attack),
}

#: field -> its value in the parsed record (articles.frontmatter.ArticleRecord).
READ_BACK = {
    **{name: operator.attrgetter(name) for name in FIELDS},
    "answer": lambda r: r.answer_raw,
    "related_title": lambda r: r.related[0].title,
    "related_url": lambda r: r.related[0].url,
    "related_subject": lambda r: r.related[0].subject_name,
    "extra_key": lambda r: r.extra["editor_note"],
}

#: Where each field is printed as it is on an article page: as text, or as an attribute's
#: value (meta tags). Fields missing here are not on the page (or only transformed).
ARTICLE_PAGE_TEXT = {"question", "subject_name", "related_title", "author", "post_on_text"}
ARTICLE_PAGE_ATTRIBUTE = {"seo_description", "seo_keywords", "question"}
#: Fields the admin's article form shows as they are (inputs, textareas, link reports).
ADMIN_FORM_SHOWS = set(FIELDS) - {"related_subject", "extra_key"}


def front_matter(slug, subject_slug, field, attack):
    """A file's bytes, written with PyYAML so every attack string is quoted correctly."""
    fm = {
        "_schema": "default",
        "id": 1,
        "date": "2024-11-29",
        "title": "A question about zebras?",
        "article_title": "A question about zebras?",
        "date_format": "MMM DD, YYYY",
        "post_on_text": "Posted on",
        "seo": {"title": "Zebras", "page_description": "About zebras.", "page_keywords": "zebras"},
        "author": "QuickTakes",
        "question": "A question about zebras?",
        "answer": "An answer about zebras.",
        "subject": "Mathematics",
        "file_name": f"{slug}.md",
        "url": f"/learn/{subject_slug}/questions/{slug}",
    }
    FIELDS[field](fm, attack)
    text = yaml.safe_dump(fm, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{text}---\n\n&nbsp;\n".encode()


@pytest.fixture
def attacked(request, tmp_path):
    """Import one article per attack string with ``request.param`` (a FIELDS key) carrying
    it; returns ``(field, {attack id: Article})``. Articles carrying a subject name each get
    a subject of their own."""
    field = request.param
    for number, (name, attack) in enumerate(ATTACKS.items()):
        subject_slug = f"xss-{number}" if field == "subject_name" else PLACE
        slug = f"xss-{name}"
        data = front_matter(slug, subject_slug, field, attack)
        assert READ_BACK[field](parse_bytes(data)) == attack  # YAML kept it exactly
        folder = tmp_path / "learn" / subject_slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{slug}.md").write_bytes(data)
    report = import_paths([tmp_path / "learn"], workers=1)
    assert not report.errors, report.errors
    assert report.created == len(ATTACKS)
    # The articles are alike, so each page would fill its related questions with the
    # others; without suggestions the dangling link's title is printed, as text.
    RelatedSuggestion.objects.all().delete()
    articles = {a.slug.removeprefix("xss-"): a for a in Article.objects.select_related("subject")}
    return field, articles


every_field = pytest.mark.parametrize("attacked", list(FIELDS), indirect=True)


# --- reading markup ------------------------------------------------------------------


class Markup(HTMLParser):
    """What a browser would build from a page, reduced to what matters here: every start
    tag with its attributes, every script with its text, and the text a reader sees."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements, self.scripts, self._text = [], [], []
        self._script = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = [(name, value or "") for name, value in attrs]
        self.elements.append((tag, attrs))
        if tag == "script":
            self._script = (dict(attrs), [])

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            attrs, parts = self._script
            self.scripts.append((attrs, "".join(parts)))
            self._script = None

    def handle_data(self, data):
        (self._script[1] if self._script is not None else self._text).append(data)

    @property
    def text(self):
        return "".join(self._text)

    def attribute_values(self):
        return [value for _, attrs in self.elements for _, value in attrs]

    def json_ld(self):
        return [
            json.loads(text)
            for attrs, text in self.scripts
            if attrs.get("type") == "application/ld+json"
        ]


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data"}
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base"}
_INVISIBLE = re.compile(r"[\x00-\x20\u2028\u2029]")


def _own_script(src):
    return src.startswith("/static/") or src == "/admin/jsi18n/"


def assert_inert(html, where):
    """Fail when ``html`` (a page's text) holds anything a browser would run or load that
    the site itself did not put there. Returns the parsed Markup."""
    markup = Markup(html)
    for tag, attrs in markup.elements:
        assert tag not in FORBIDDEN_TAGS, f"{where}: a <{tag}> element"
        for name, value in attrs:
            assert not name.startswith("on"), f"{where}: <{tag} {name}={value!r}>"
            if name in URL_ATTRIBUTES:
                address = _INVISIBLE.sub("", value).lower()
                assert not address.startswith(("javascript:", "vbscript:", "data:text/html")), (
                    f"{where}: <{tag} {name}={value!r}>"
                )
        if tag == "img":
            assert dict(attrs).get("src", "").startswith("/static/"), f"{where}: <img {attrs}>"
        if tag == "meta":
            assert dict(attrs).get("http-equiv", "").lower() != "refresh", where
    for attrs, text in markup.scripts:
        if attrs.get("type") == "application/ld+json":
            assert "src" not in attrs, where
            assert "</script" not in text.lower() and "<!--" not in text, where
            json.loads(text)  # data, and all of it
        else:
            assert _own_script(attrs.get("src", "")), f"{where}: <script {attrs}>"
            assert not text.strip(), f"{where}: an inline script {text[:80]!r}"
    return markup


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def public_urls(articles):
    urls = {"/learn", "/search?q=zebras"}
    for article in articles.values():
        urls |= {
            article.get_absolute_url(),
            article.subject.get_absolute_url(),
            f"/search?q=zebras&subject={article.subject.slug}",
        }
    return sorted(urls)


def admin_urls(articles):
    urls = {"/admin/", "/admin/articles/article/", "/admin/articles/subject/"}
    urls.add("/admin/articles/relatedlink/")
    for article in articles.values():
        urls.add(f"/admin/articles/article/{article.pk}/change/")
        urls.add(f"/admin/articles/subject/{article.subject_id}/change/")
        urls.add(f"/admin/articles/article/{article.pk}/history/")
    for link in RelatedLink.objects.all():
        urls.add(f"/admin/articles/relatedlink/{link.pk}/change/")
    return sorted(urls)


# --- public pages ----------------------------------------------------------------------


@every_field
def test_public_pages_show_the_field_inert(client, attacked):
    field, articles = attacked
    for url in public_urls(articles):
        assert_inert(page(client, url), url)


@pytest.mark.parametrize(
    "attacked", sorted(ARTICLE_PAGE_TEXT | ARTICLE_PAGE_ATTRIBUTE), indirect=True
)
def test_article_pages_print_the_field_as_text(client, attacked):
    field, articles = attacked
    for name, attack in ATTACKS.items():
        url = articles[name].get_absolute_url()
        markup = Markup(page(client, url))
        if field in ARTICLE_PAGE_TEXT:
            assert attack.strip() in markup.text, (url, attack)
        if field in ARTICLE_PAGE_ATTRIBUTE:
            assert attack in markup.attribute_values(), (url, attack)


@every_field
def test_template_syntax_in_the_field_is_never_evaluated(client, attacked):
    field, articles = attacked
    html = page(client, articles["template"].get_absolute_url())
    assert "49" not in Markup(html).text.replace("2024", "")
    if field in ARTICLE_PAGE_TEXT:
        assert "{{ 7*7 }}{% debug %}" in Markup(html).text


@pytest.mark.parametrize("parameter", ["q", "subject"])
@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_the_search_page_shows_a_typed_attack_inert(client, db, parameter, attack):
    response = client.get("/search", {parameter: attack})
    assert response.status_code == 200
    markup = assert_inert(response.content.decode(), f"/search {parameter}={attack!r}")
    if parameter == "q":
        assert f"“{search.clean_query(attack)}”" in markup.text  # echoed, as text


# --- JSON-LD --------------------------------------------------------------------------


def _names(value):
    """Every ``name`` and ``text`` string anywhere in a JSON-LD value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in {"name", "text"} and isinstance(item, str):
                yield item
            else:
                yield from _names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _names(item)


#: Fields JSON-LD carries: the question (name, text), the answer as readers see it (text,
#: from the stored HTML), the author (name), the subject (breadcrumb name).
JSON_LD_CARRIES = {"question", "answer", "author", "subject_name"}


@every_field
def test_json_ld_parses_and_holds_the_field_intact(client, attacked):
    field, articles = attacked
    for name, attack in ATTACKS.items():
        article = articles[name]
        for url in (article.get_absolute_url(), article.subject.get_absolute_url()):
            blocks = assert_inert(page(client, url), url).json_ld()
            assert blocks, url
            if field in JSON_LD_CARRIES and url == article.get_absolute_url():
                expected = attack.strip()
                if field == "answer":
                    article.refresh_from_db()
                    expected = readable_text(article.answer_html)
                assert expected in set(_names(blocks)), (url, attack)


# --- the admin ------------------------------------------------------------------------


@every_field
def test_admin_pages_show_the_field_inert(admin_client, attacked):
    field, articles = attacked
    for url in admin_urls(articles):
        assert_inert(page(admin_client, url), url)


@pytest.mark.parametrize("model", ["article", "subject", "relatedlink"])
@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_an_admin_search_shows_a_typed_attack_inert(admin_client, model, attack):
    response = admin_client.get(f"/admin/articles/{model}/", {"q": attack})
    assert response.status_code == 200
    assert_inert(response.content.decode(), f"/admin/articles/{model}/?q={attack!r}")


@pytest.mark.parametrize("attacked", sorted(ADMIN_FORM_SHOWS), indirect=True)
def test_the_admin_form_shows_the_field_as_it_is(admin_client, attacked):
    field, articles = attacked
    for name, attack in ATTACKS.items():
        url = f"/admin/articles/article/{articles[name].pk}/change/"
        markup = Markup(page(admin_client, url))
        shown = markup.text + "\n".join(markup.attribute_values())
        assert attack.strip() in shown, (url, attack)


# --- feeds and sitemaps ---------------------------------------------------------------


def assert_feed_inert(xml, where):
    """The feed parses as XML, its items hold only RSS elements (no markup of an attack
    became an element), and each description, HTML by RSS 2.0's rules, is inert. Titles and
    categories are plain text in RSS 2.0: their text is compared by the tests. Returns the
    parsed root."""
    root = ElementTree.fromstring(xml)
    allowed = {"title", "link", "description", "pubDate", "guid", "category", "author"}
    allowed.add("{http://purl.org/dc/elements/1.1/}creator")
    for item in root.iter("item"):
        assert {child.tag for child in item} <= allowed, (where, [c.tag for c in item])
        assert_inert(item.findtext("description") or "", f"{where} description")
        assert item.findtext("link").startswith(SITE_URL + "/learn/"), where
    return root


@every_field
def test_feeds_show_the_field_inert(client, attacked):
    field, articles = attacked
    urls = {"/feed.xml"} | {f"{a.subject.get_absolute_url()}/feed.xml" for a in articles.values()}
    for url in sorted(urls):
        response = client.get(url)
        assert response.status_code == 200, url
        root = assert_feed_inert(response.content, url)
        texts = {element.text for element in root.iter() if element.text}
        if field == "question":
            assert set(ATTACKS.values()) <= texts, url
        if field == "subject_name" and url != "/feed.xml":
            slug = url.split("/")[2]
            subject = next(a.subject for a in articles.values() if a.subject.slug == slug)
            assert f"{subject.title} | QuickTakes Learn" in texts, url


@every_field
def test_sitemaps_list_only_site_addresses(client, attacked):
    field, articles = attacked
    index = client.get("/sitemap.xml")
    assert index.status_code == 200
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    sections = [loc.text for loc in ElementTree.fromstring(index.content).iter(f"{namespace}loc")]
    assert sections
    locations = []
    for section in sections:
        response = client.get(section.removeprefix(SITE_URL))
        assert response.status_code == 200, section
        locations += [
            loc.text for loc in ElementTree.fromstring(response.content).iter(f"{namespace}loc")
        ]
    expected = {SITE_URL + a.get_absolute_url() for a in articles.values()}
    assert expected <= set(locations)
    pattern = re.compile(rf"^{re.escape(SITE_URL)}/learn(/[a-z0-9-]+(/questions/[a-z0-9-]+)?)?$")
    assert all(pattern.match(location) for location in locations), locations
