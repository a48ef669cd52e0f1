from django.urls import path, re_path

from articles import feeds, views
from articles.caching import article_page_tags, cached_page, subject_page_tags

app_name = "articles"

urlpatterns = [
    path("learn", cached_page(views.SubjectListView.as_view()), name="index"),
    path(
        "learn/<slug:subject>",
        cached_page(views.SubjectDetailView.as_view(), "page", "q", tags=subject_page_tags),
        name="subject",
    ),
    path(
        "learn/<slug:subject>/questions/<slug:slug>",
        cached_page(views.ArticleDetailView.as_view(), tags=article_page_tags),
        name="detail",
    ),
    path("search", views.SearchView.as_view(), name="search"),
    path("feed.xml", cached_page(feeds.LatestArticlesFeed()), name="feed"),
    path(
        "learn/<slug:subject>/feed.xml",
        cached_page(feeds.SubjectFeed(), tags=subject_page_tags),
        name="subject_feed",
    ),
    re_path(r"^(?P<path>learn(?:/.*)?)/+$", views.strip_trailing_slash),
]
