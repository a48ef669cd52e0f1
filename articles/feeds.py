"""RSS feeds (django.contrib.syndication): the site's 50 newest articles, and a subject's.

Links are absolute, built from ``settings.SITE_URL`` rather than the request's host. Every
text is stripped of characters XML 1.0 cannot hold, so no article text can make a feed
invalid or make Django refuse to write it. Visibility comes from articles.querysets and
articles.canonical; nothing here decides who may see what.
"""

import re

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Rss201rev2Feed

from articles import modified
from articles.models import Article, Subject

#: Items in every feed.
FEED_SIZE = 50

# Characters outside XML 1.0's Char production (control characters, lone surrogates,
# U+FFFE, U+FFFF). Django's XML writer refuses some of them outright.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value):
    """``value`` as a str with every character XML 1.0 cannot hold removed."""
    return _NOT_XML_CHAR.sub("", str(value or ""))


def absolute(path):
    return settings.SITE_URL + path


class _ArticleFeed(Feed):
    feed_type = Rss201rev2Feed

    def item_title(self, item):
        return xml_text(item.question)

    def item_description(self, item):
        # The stored, sanitised HTML: no rendering happens in a feed either.
        return xml_text(item.answer_html)

    def item_link(self, item):
        return absolute(item.get_absolute_url())

    def item_guid(self, item):
        return absolute(item.get_absolute_url())

    item_guid_is_permalink = True

    def item_pubdate(self, item):
        return modified.posted_time(item.date)

    def item_updateddate(self, item):
        return item.modified_at

    def item_author_name(self, item):
        return xml_text(item.author) or None

    def item_categories(self, item):
        return [xml_text(item.subject.title)]

    def _articles(self, queryset):
        return (
            queryset.select_related("subject")
            .only(
                "slug",
                "question",
                "answer_html",
                "date",
                "content_changed_at",
                "author",
                "subject__slug",
                "subject__title",
            )
            .order_by("-date", "-id")[:FEED_SIZE]
        )


class LatestArticlesFeed(_ArticleFeed):
    """``/feed.xml``: the 50 newest articles search engines are offered (one copy of each
    cross-posted article, listed subjects only)."""

    def title(self):
        return settings.SITE_NAME

    def link(self):
        return absolute(reverse("articles:index"))

    def feed_url(self):
        return absolute(reverse("articles:feed"))

    def description(self):
        return f"The newest questions and answers on {settings.SITE_NAME}."

    def items(self):
        return self._articles(Article.objects.indexable())


class SubjectFeed(_ArticleFeed):
    """``/learn/<subject>/feed.xml``: a subject's 50 newest published articles."""

    def get_object(self, request, subject):
        return get_object_or_404(Subject, slug=subject)

    def title(self, subject):
        return xml_text(f"{subject.title} | {settings.SITE_NAME}")

    def link(self, subject):
        return absolute(subject.get_absolute_url())

    def feed_url(self, subject):
        return absolute(reverse("articles:subject_feed", kwargs={"subject": subject.slug}))

    def description(self, subject):
        return xml_text(f"The newest {subject.title} questions and answers.")

    def items(self, subject):
        return self._articles(Article.objects.published().in_subject(subject))
