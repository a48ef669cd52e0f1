"""What a page's head tells search engines and link previews: canonical URLs, robots,
Open Graph and Twitter card tags, JSON-LD (schema.org QAPage and BreadcrumbList).

Builds plain values from rows already loaded by the views; it never queries the database
and never renders Markdown. JSON-LD is serialised here so that no text can close its script
element.
"""

import json

from django.conf import settings
from django.urls import reverse
from django.utils.safestring import mark_safe

from articles import cards
from articles.plaintext import readable_text

#: schema.org's JSON-LD context.
SCHEMA_ORG = "https://schema.org"

# In a script element only "</script" (and "<!--") can end the data; escaping <, > and &
# as JSON \u escapes keeps the JSON equal and the element closed only by its own tag.
_JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def absolute(path):
    """``path`` (site-relative) on ``settings.SITE_URL``."""
    return settings.SITE_URL + path


def json_ld(data):
    """``data`` as JSON safe to print inside ``<script type="application/ld+json">``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return mark_safe(text.translate(_JSON_SCRIPT_ESCAPES))


def canonical_article(article):
    """The copy ``article``'s canonical link names: its ``canonical`` copy when readers can
    see that one, else the article itself (a stale link never sends crawlers to a 404).
    Expects ``canonical__subject`` loaded with the article."""
    copy = article.canonical
    return copy if copy is not None and copy.is_published else article


def _author(name):
    # The corpus credits every answer to the brand itself: an Organization, not a Person.
    if name.strip().lower() in settings.SITE_NAME.lower():
        return {"@type": "Organization", "name": name, "url": absolute(reverse("articles:index"))}
    return {"@type": "Person", "name": name}


def share_image(subject=None):
    """The share image a page names: ``subject``'s card when it has one, else the site's
    card when stored, else None (articles.cards.image_meta's dict). Never draws one."""
    if subject is not None and subject.card:
        return cards.image_meta(subject.card, f"{subject.title} | {settings.SITE_NAME}")
    return cards.image_meta(cards.stored_site_card(), settings.SITE_NAME)


def image_tags(image):
    """Open Graph and Twitter card pairs for ``image`` (share_image's dict or None):
    ``(open_graph, twitter)``, two lists of (property, content) pairs."""
    if image is None:
        return [], [("twitter:card", "summary")]
    open_graph = [
        ("og:image", image["url"]),
        ("og:image:type", "image/png"),
        ("og:image:width", str(image["width"])),
        ("og:image:height", str(image["height"])),
        ("og:image:alt", image["alt"]),
    ]
    twitter = [
        ("twitter:card", "summary_large_image"),
        ("twitter:image", image["url"]),
        ("twitter:image:alt", image["alt"]),
    ]
    return open_graph, twitter


def page_title(question, subject_title):
    """An article page's ``<title>``: its question, its subject, the site's name."""
    return f"{question} | {subject_title} | {settings.SITE_NAME}"


def article_head(article):
    """Head values for an article page: ``title``, ``description``, ``keywords``,
    ``canonical_url``, ``noindex`` (bool), ``open_graph`` and ``twitter`` (lists of
    (property, content) pairs, the subject's share image among them), ``json_ld`` (safe
    string), ``feed_url``, ``feed_title``.

    The answer's text is the stored answer HTML as readable plain text (articles.plaintext).
    The canonical URL names the canonical copy of a cross-posted article (articles.canonical)
    and is absolute, from ``SITE_URL``. noindex: the article's own flag or an unlisted
    subject.
    """
    subject = article.subject
    url = absolute(article.get_absolute_url())
    canonical_url = absolute(canonical_article(article).get_absolute_url())
    title = page_title(article.question, subject.title)
    description = article.seo_description
    published = article.date.isoformat()
    # The file's date until its text changes (articles.modified), as sitemaps and feeds say.
    modified = article.modified_at.isoformat()
    author = _author(article.author) if article.author else None
    answer = {
        "@type": "Answer",
        # What readers see, as plain text from the stored HTML (formulas written out as
        # in search snippets), not the Markdown and LaTeX source.
        "text": readable_text(article.answer_html),
        "url": canonical_url + "#answer",
        "datePublished": published,
        "upvoteCount": 0,
    }
    question = {
        "@type": "Question",
        "name": article.question,
        "text": article.question,
        "answerCount": 1,
        "datePublished": published,
        "dateModified": modified,
        "acceptedAnswer": answer,
    }
    if author:
        answer["author"] = question["author"] = author
    breadcrumbs = [
        ("Learn", absolute(reverse("articles:index"))),
        (subject.title, absolute(subject.get_absolute_url())),
        (article.question, url),
    ]
    data = [
        {
            "@context": SCHEMA_ORG,
            "@type": "QAPage",
            "url": canonical_url,
            "name": article.question,
            "inLanguage": "en",
            "mainEntity": question,
        },
        breadcrumb_list(breadcrumbs),
    ]
    open_graph = [
        ("og:type", "article"),
        ("og:site_name", settings.SITE_NAME),
        ("og:title", article.question),
        ("og:url", canonical_url),
        ("og:locale", "en_US"),
        ("article:published_time", published),
        ("article:modified_time", modified),
        ("article:section", subject.title),
    ]
    if description:
        open_graph.insert(3, ("og:description", description))
    image_og, image_twitter = image_tags(share_image(subject))
    open_graph += image_og
    twitter = [*image_twitter, ("twitter:title", article.question)]
    if description:
        twitter.append(("twitter:description", description))
    return {
        "title": title,
        "description": description,
        "keywords": article.seo_keywords,
        "canonical_url": canonical_url,
        "noindex": article.no_index or not subject.listed,
        "open_graph": open_graph,
        "twitter": twitter,
        "json_ld": json_ld(data),
        **subject_feed(subject),
    }


def breadcrumb_list(crumbs):
    """A schema.org BreadcrumbList from ``[(name, absolute URL), …]``, outermost first."""
    return {
        "@context": SCHEMA_ORG,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": name, "item": url}
            for position, (name, url) in enumerate(crumbs, start=1)
        ],
    }


def subject_feed(subject):
    return {
        "feed_url": reverse("articles:subject_feed", kwargs={"subject": subject.slug}),
        "feed_title": f"{subject.title} | {settings.SITE_NAME}",
    }


def _page_url(path, number):
    return absolute(path if number == 1 else f"{path}?page={number}")


def subject_head(subject, page):
    """Head values for a page of a subject: ``canonical_url`` (page 1 has no ``?page``),
    ``prev_url`` / ``next_url`` (absolute, or None), ``noindex`` (unlisted subject),
    ``json_ld`` (its BreadcrumbList), ``feed_url``, ``feed_title``, ``open_graph`` and
    ``twitter`` (the share image's tags: the subject's card, else the site's).

    ``page``: the paginator's Page, or None when the subject has a single page.
    """
    path = subject.get_absolute_url()
    number = page.number if page is not None else 1
    prev_url = next_url = None
    if page is not None and page.has_previous():
        prev_url = _page_url(path, page.previous_page_number())
    if page is not None and page.has_next():
        next_url = _page_url(path, page.next_page_number())
    crumbs = [
        ("Learn", absolute(reverse("articles:index"))),
        (subject.title, absolute(path)),
    ]
    return {
        "canonical_url": _page_url(path, number),
        "prev_url": prev_url,
        "next_url": next_url,
        "noindex": not subject.listed,
        "json_ld": json_ld(breadcrumb_list(crumbs)),
        **dict(zip(("open_graph", "twitter"), image_tags(share_image(subject)), strict=True)),
        **subject_feed(subject),
    }


def index_head():
    """Head values for /learn: ``canonical_url``, ``open_graph`` and ``twitter`` (the
    site card's tags, when it is stored)."""
    open_graph, twitter = image_tags(share_image())
    return {
        "canonical_url": absolute(reverse("articles:index")),
        "open_graph": open_graph,
        "twitter": twitter,
    }
