from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps import views as sitemaps_views
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView

from articles.caching import cached_page
from articles.sitemaps import SITEMAPS, sitemap_index

urlpatterns = [
    path("", RedirectView.as_view(url="/learn", permanent=True)),
    path("admin", RedirectView.as_view(url="/admin/", permanent=True)),
    path("admin/", admin.site.urls),
    # Sitemaps of the whole corpus take seconds to build: readers' page cache keeps them.
    path("sitemap.xml", cached_page(sitemap_index), name="sitemap"),
    path(
        "sitemap-<slug:section>.xml",
        cached_page(sitemaps_views.sitemap, "p"),
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    path("robots.txt", TemplateView.as_view(template_name="robots.txt", content_type="text/plain")),
    path("", include("articles.urls")),
]
# Uploaded images in development only (static() adds nothing unless DEBUG); in production
# the reverse proxy serves MEDIA_ROOT at MEDIA_URL (README, "Images").
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "quicktakes.errors.page_not_found"
handler500 = "quicktakes.errors.server_error"
