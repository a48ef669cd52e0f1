"""The allow-list for answer HTML and the call that enforces it (nh3).

Owns what markup, attributes and link schemes an answer may hold. Must not parse Markdown
or touch MathML: formulas are put back after sanitising, from our own MathML allow-list."""

from __future__ import annotations

import nh3

from articles.rendering.images import is_own_image_attribute

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "strong",
        "em",
        "del",
        "code",
        "pre",
        "div",
        "span",
        "a",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        # Only this site's images: articles.rendering.images makes them, drops the others,
        # and own_image_attributes keeps any other address out of src and srcset.
        "img",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": frozenset({"href", "title", "rel"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"align"}),
    "td": frozenset({"align"}),
    "div": frozenset({"class"}),
    "span": frozenset({"class"}),
    "code": frozenset({"class"}),
    "img": frozenset(
        {"src", "alt", "title", "width", "height", "srcset", "sizes", "loading", "decoding"}
    ),
    **{f"h{level}": frozenset({"id"}) for level in range(1, 7)},
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})


def clean(markup: str) -> str:
    """HTML -> the same HTML with only the allow-list's tags, attributes and URL schemes.

    Measured on 600 corpus answers, bleach (a pure-Python parser, which the site used
    through django-markdownify) takes 3.6 ms an answer and nh3 (the Rust sanitiser
    ammonia) 0.27 ms with the same allow-list, so answers are sanitised by nh3 from this
    very allow-list.
    tests/test_rendering.py shows the two give the same DOM on every case and on a corpus
    sample.
    """
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_PROTOCOLS,
        # rel is set by articles.rendering.markdown, on links that leave the site only.
        link_rel=None,
        strip_comments=True,
        attribute_filter=_own_images_only,
    )


def _own_images_only(tag: str, attribute: str, value: str) -> str | None:
    return value if is_own_image_attribute(tag, attribute, value) else None
