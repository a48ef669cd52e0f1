"""The editors' admin: articles (sectioned form, live preview, related links, history,
reports, bulk actions), subjects with their article counts, and related links.

This module only registers the models with django-reversion and their ModelAdmins with the
admin site. Rendering belongs to articles.rendering and redirects for moved articles to
Article.save(): every change here goes through ``save()``, never ``update()``. Built for the
whole corpus loaded: a changelist load runs no full-table COUNT(*) and no DISTINCT.
"""

import reversion
from django.contrib import admin

from articles.admin.articles import ArticleAdmin
from articles.admin.images import ImageAdmin
from articles.admin.imports import ArticleImportAdmin
from articles.admin.related_links import RelatedLinkAdmin
from articles.admin.subjects import SubjectAdmin
from articles.models import Article, ArticleImport, Image, RelatedLink, Subject

# History: an article's version holds its related links, so reverting an article brings
# its links back as they were.
reversion.register(RelatedLink)
reversion.register(Article, follow=("related_links",))
reversion.register(Subject)

# After reversion's registrations: a VersionAdmin registers a model it finds unregistered
# itself, with what to follow guessed from its inlines.
admin.site.register(Article, ArticleAdmin)
admin.site.register(Subject, SubjectAdmin)
admin.site.register(RelatedLink, RelatedLinkAdmin)
# Imports in the admin (upload, dry run, confirm): articles.admin.imports.
admin.site.register(ArticleImport, ArticleImportAdmin)
# The image library (upload, renditions, the Markdown to paste): articles.admin.images.
admin.site.register(Image, ImageAdmin)
