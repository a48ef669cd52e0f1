"""The search-result preview beside the article form's SEO fields: the page's title, address
and description as a search engine lists them, cut where it cuts them.

Printed on the server (so it shows without JavaScript, from the form's current values) and
kept live by static/js/admin_serp.js, which cuts the title by its width in pixels. Reads
only what it is given and the subjects' slugs; never writes.
"""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from articles import seo
from articles.admin.widgets import SEO_DESCRIPTION_LIMIT, SEO_TITLE_LIMIT
from articles.models import Subject
from articles.plaintext import readable_text

#: A result's title is cut past about 580 px of 20 px Arial (Google, desktop), which
#: SEO_TITLE_LIMIT (about 60 characters) stands for where nothing measures pixels.
TITLE_WIDTH_PX = 580
TITLE_FONT = "20px Arial, 'Liberation Sans', Helvetica, sans-serif"
ELLIPSIS = "…"


def cut(text, limit):
    """``text`` on one line, whole when it holds at most ``limit`` characters; else the
    whole words that fit in ``limit - 1`` characters followed by an ellipsis, as search
    engines cut titles and descriptions."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if " " in head and not text[limit - 1].isspace():
        head = head[: head.rindex(" ")]
    return head.rstrip(" ,;:.|-–—") + ELLIPSIS


def display_address(url):
    """An absolute URL as a result shows it: the host, then the path's parts joined by ›."""
    parts = urlsplit(url)
    return " › ".join([parts.netloc, *[part for part in parts.path.split("/") if part]])


def search_result(article):
    """The preview of ``article`` (possibly unsaved, its fields as the form holds them) as
    safe HTML. Without a description, search engines show text of the page: the start of
    the answer stands for it, marked as such."""
    subject = article.subject if article.subject_id else None
    path = reverse("articles:index")
    if subject is not None and article.slug:
        try:
            path = reverse(
                "articles:detail", kwargs={"subject": subject.slug, "slug": article.slug}
            )
        except NoReverseMatch:
            pass  # a slug the form refuses: its error says so

    title = seo.page_title(article.question or "…", subject.title if subject else "…")
    description = article.seo_description
    from_answer = not description
    if from_answer:
        description = readable_text(article.answer_html) if article.answer_html else ""
    subjects = dict(Subject.objects.values_list("pk", "slug"))
    return format_html(
        '<div class="serp" data-serp data-site-url="{}" data-site-name="{}" '
        'data-title-limit="{}" data-title-px="{}" data-title-font="{}" '
        'data-description-limit="{}" data-subjects="{}">'
        '<p class="serp__site">{}</p><p class="serp__address">{}</p>'
        '<p class="serp__title" role="heading" aria-level="4">{}</p>'
        '<p class="serp__description{}">{}</p>'
        '<p class="serp__note">Cut as search engines cut them: the title past about '
        "{} px (about {} characters), the description past about {} characters. "
        "{}</p></div>",
        settings.SITE_URL,
        settings.SITE_NAME,
        SEO_TITLE_LIMIT,
        TITLE_WIDTH_PX,
        TITLE_FONT,
        SEO_DESCRIPTION_LIMIT,
        json.dumps(subjects),
        settings.SITE_NAME,
        display_address(seo.absolute(path)),
        cut(title, SEO_TITLE_LIMIT),
        " serp__description--from-answer" if from_answer else "",
        cut(description, SEO_DESCRIPTION_LIMIT),
        TITLE_WIDTH_PX,
        SEO_TITLE_LIMIT,
        SEO_DESCRIPTION_LIMIT,
        "The title is the page's: the question, the subject and the site's name. "
        "With no SEO description, search engines pick text from the page, often the "
        "start of the answer, shown here in grey.",
    )
