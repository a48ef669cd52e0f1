from django.urls import path, re_path

from articles import views

app_name = "articles"

urlpatterns = [
    path("learn", views.SubjectListView.as_view(), name="index"),
    path("learn/<slug:subject>", views.SubjectDetailView.as_view(), name="subject"),
    path(
        "learn/<slug:subject>/questions/<slug:slug>",
        views.ArticleDetailView.as_view(),
        name="detail",
    ),
    re_path(r"^(?P<path>learn(?:/.*)?)/+$", views.strip_trailing_slash),
]
