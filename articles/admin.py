"""The editors' admin: articles (sectioned form, live preview, related links, history,
reports, bulk actions), subjects with their article counts, and related links.

Rendering belongs to articles.rendering and redirects for moved articles to Article.save():
every change here goes through ``save()``, never ``update()``. Built for the whole corpus
loaded: a changelist load runs no full-table COUNT(*) and no DISTINCT.
"""
import re

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ShowFacets
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Length
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from reversion.admin import VersionAdmin
from reversion.models import Version

from articles import admin_views, changes, rendering
from articles.models import Article, RelatedLink, Subject

# History: an article's version holds its related links, so reverting an article brings
# its links back as they were.
reversion.register(RelatedLink)
reversion.register(Article, follow=("related_links",))
reversion.register(Subject)

#: Meta description length search engines show before cutting it off (Google's snippet
#: is about 155-160 characters on desktop); the article model's help text says the same.
SEO_DESCRIPTION_LIMIT = 160
#: Title length shown in search results before it is cut (about 60 characters).
SEO_TITLE_LIMIT = 60

#: A public address pasted into the search box: /learn/<subject>/questions/<slug>, with or
#: without the site's scheme and host.
ADDRESS = re.compile(r"(?:https?://[^/]+)?/learn/(?P<subject>[-\w]+)/questions/(?P<slug>[-\w]+)/?")


class EstimatedCountPaginator(Paginator):
    """A changelist paginator that never counts a large table to the end.

    The unfiltered list takes the table's size from the database's statistics
    (PostgreSQL's ``pg_class.reltuples`` once the table was analysed) or else from the
    highest id, a one-row read of the primary key index. A filtered or searched list is
    counted up to COUNT_CAP rows and no further. ``count_label`` says which it was
    ("1,204", "about 32,327", "more than 10,000") for the changelist templates.
    """

    COUNT_CAP = 10_000

    @cached_property
    def _counted(self):
        queryset = self.object_list
        if not queryset.query.where:
            return self._estimate(queryset), "about"
        counted = queryset.order_by().values("pk")[: self.COUNT_CAP + 1].count()
        if counted > self.COUNT_CAP:
            return self.COUNT_CAP, "more than"
        return counted, ""

    @staticmethod
    def _estimate(queryset):
        model, db = queryset.model, queryset.db
        connection = connections[db]
        if connection.vendor == "postgresql":
            # One query either way: reltuples is -1 (or 0) until the table is analysed.
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT CASE WHEN reltuples > 0 THEN reltuples::bigint "
                    f"ELSE (SELECT MAX({pk}) FROM {table}) END "
                    "FROM pg_class WHERE oid = %s::regclass",
                    [table],
                )
                row = cursor.fetchone()
            return int(row[0] or 0) if row else 0
        highest = model._default_manager.using(db).order_by("-pk").values_list("pk", flat=True)
        return highest.first() or 0

    @property
    def count(self):
        return self._counted[0]

    @property
    def count_is_exact(self):
        return not self._counted[1]

    @property
    def count_label(self):
        number, qualifier = self._counted
        return f"{qualifier} {number:,}".strip()


# Widgets -----------------------------------------------------------------------------


class AnswerEditor(forms.Textarea):
    """The answer's textarea with its preview pane beside it.

    The pane starts with the stored HTML (or the submitted text rendered, when the form
    comes back with errors); static/js/admin_preview.js keeps it up to date while typing.
    """

    class Media:
        css = {"all": ("css/admin.css", "css/highlight.css")}
        js = ("js/admin_preview.js",)

    def __init__(self, attrs=None):
        super().__init__({"rows": 24, "class": "answer-editor__source", **(attrs or {})})
        self.rendered_source = None
        self.rendered_html = ""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {})}
        pane_id = f"{attrs.get('id', 'id_' + name)}_preview"
        attrs.update({"data-preview-url": reverse("admin:articles_article_preview"),
                      "data-preview-pane": pane_id})
        source = value or ""
        if source == self.rendered_source:
            html = self.rendered_html
        else:
            html = rendering.render_markdown(source).html if source else ""
        textarea = super().render(name, value, attrs, renderer)
        return format_html(
            '<div class="answer-editor">{}'
            '<section class="answer-editor__preview" aria-labelledby="{}_heading">'
            '<h3 id="{}_heading">Preview <span class="answer-editor__status" '
            'aria-live="polite"></span></h3>'
            '<div class="answer answer-editor__pane" id="{}">{}</div></section></div>',
            textarea,
            pane_id,
            pane_id,
            pane_id,
            mark_safe(html),  # sanitised by articles.rendering, like the stored answer_html
        )


class CountedMixin:
    """A text widget followed by a live character count warning past ``limit``.

    The count is printed on the server (so it shows without JavaScript) and kept live by
    static/js/admin_seo.js.
    """

    class Media:
        css = {"all": ("css/admin.css",)}
        js = ("js/admin_seo.js",)

    def __init__(self, limit, attrs=None):
        super().__init__({"data-count-limit": limit, **(attrs or {})})
        self.limit = limit

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {})}
        counter_id = f"{attrs.get('id', 'id_' + name)}_count"
        attrs["aria-describedby"] = counter_id
        field = super().render(name, value, attrs, renderer)
        length = len(value or "")
        over = length > self.limit
        return format_html(
            '{}<p class="char-count{}" id="{}" aria-live="polite">'
            '<span class="char-count__number">{}</span> / {} characters'
            '<span class="char-count__warning">{}</span></p>',
            field,
            " char-count--over" if over else "",
            counter_id,
            length,
            self.limit,
            f" — over {self.limit}: search engines will cut it off" if over else "",
        )


class CountedTextarea(CountedMixin, forms.Textarea):
    pass


class CountedTextInput(CountedMixin, forms.TextInput):
    pass


# Forms -------------------------------------------------------------------------------


class TextAsWrittenField(forms.CharField):
    """A long text kept as written: not trimmed, and with the CRLF line breaks browsers
    submit turned back into LF, so a save that changes nothing changes no byte (the
    export writes these texts back to the front matter)."""

    def __init__(self, *, strip=False, **kwargs):
        super().__init__(strip=strip, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if value else value


class ArticleAdminForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = "__all__"
        field_classes = {
            name: TextAsWrittenField
            for name in ("answer", "body", "seo_description", "seo_keywords")
        }
        widgets = {
            "answer": AnswerEditor(),
            "seo_description": CountedTextarea(SEO_DESCRIPTION_LIMIT, attrs={"rows": 3}),
            "seo_title": CountedTextInput(SEO_TITLE_LIMIT, attrs={"class": "vTextField"}),
        }
        help_texts = {
            "title": "Leave empty to use the question.",
            "status": "Drafts are visible to staff only, with a banner; readers get 404.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "title" in self.fields:
            self.fields["title"].required = False
        if "answer" in self.fields and self.instance.pk:
            editor = self.fields["answer"].widget
            editor.rendered_source = self.instance.answer
            editor.rendered_html = self.instance.answer_html

    def clean(self):
        cleaned = super().clean()
        if "title" in self.fields and not cleaned.get("title") and cleaned.get("question"):
            cleaned["title"] = cleaned["question"]
        return cleaned


class RelatedLinkForm(forms.ModelForm):
    """One related link: its place in the list, the article it leads to, its label."""

    position = forms.TypedChoiceField(
        choices=[("", "next")] + [(n, n) for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="1 to 5; empty takes the next free place.",
    )

    class Meta:
        model = RelatedLink
        fields = ("position", "target", "title")
        help_texts = {"title": "Leave empty to use the target's question."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = False
        self.fields["target"].label = "leads to"

    def clean(self):
        cleaned = super().clean()
        target = cleaned.get("target")
        if target is not None:
            article = cleaned.get("article") or self.instance.article_id
            if target.pk == getattr(article, "pk", article):
                raise ValidationError({"target": "An article cannot be related to itself."})
            if "target" in self.changed_data or not self.instance.url:
                # The address is what the page links to when the target is missing later;
                # keep it equal to where the chosen article stands now.
                self.instance.url = target.get_absolute_url()
                self.instance.subject_name = target.subject.title
                self.instance.source_id = target.source_id
            if not cleaned.get("title"):
                cleaned["title"] = target.question
        elif not self.instance.url:
            raise ValidationError({"target": "Choose the article this link leads to."})
        elif not cleaned.get("title"):
            raise ValidationError({"title": "A link to a missing article needs a title."})
        return cleaned


class RelatedLinkFormSet(forms.BaseInlineFormSet):
    def clean(self):
        # Give links without a position the free places in order, before the formset's
        # own check that positions are unique.
        kept = [
            form
            for form in self.forms
            if form.has_changed() or form.instance.pk
            if not self._should_delete_form(form) and hasattr(form, "cleaned_data")
        ]
        taken = {form.cleaned_data.get("position") for form in kept} - {None}
        free = iter(sorted(set(range(1, 6)) - taken))
        for form in kept:
            if form.cleaned_data.get("position") is None and form.cleaned_data.get("target"):
                position = next(free, None)
                if position is None:
                    raise ValidationError("An article has at most five related links.")
                form.cleaned_data["position"] = form.instance.position = position
        super().clean()


# Related links inline -----------------------------------------------------------------


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    form = RelatedLinkForm
    formset = RelatedLinkFormSet
    fk_name = "article"
    extra = 0
    max_num = 5
    fields = ("position", "target", "title", "link_status")
    readonly_fields = ("link_status",)
    autocomplete_fields = ("target",)
    ordering = ("position",)
    verbose_name = "related question"
    verbose_name_plural = "related questions (at most five, in order)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target__subject")

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["validate_max"] = True
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="status")
    def link_status(self, link):
        if link.pk is None:
            return "—"
        if link.target_id is None:
            return format_html(
                '<span class="link-missing">Missing: no article at {}</span>', link.url
            )
        target = link.target
        state = visibility(target)
        return format_html(
            '<a href="{}">{}</a>{}',
            reverse("admin:articles_article_change", args=[target.pk]),
            target.get_absolute_url(),
            format_html(' <span class="link-hidden">({}: readers see no link)</span>', state)
            if state != "Live"
            else "",
        )


# Changelist filters: each choice's query is bounded; none lists values from the table.
# ---------------------------------------------------------------------------------------


def visibility(article):
    """"Live", "Draft" or "Scheduled for <time>": what readers get, by the rule of
    articles.querysets (``Article.is_published``)."""
    if article.is_published:
        return "Live"
    if article.status != Article.Status.PUBLISHED:
        return "Draft"
    return f"Scheduled for {localize(template_localtime(article.publish_at))}"


class ArticleChangeList(ChangeList):
    """The article list reads only the columns it shows: answers and their HTML are
    the bulk of a row (up to 16 KB) and a page holds 50 rows."""

    LIST_COLUMNS = (
        "question", "subject", "date", "status", "publish_at", "no_index", "updated",
    )

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.only(*self.LIST_COLUMNS)


class VisibilityFilter(admin.SimpleListFilter):
    title = "visibility"
    parameter_name = "visibility"

    def lookups(self, request, model_admin):
        return [
            ("live", "Live"),
            ("scheduled", "Scheduled"),
            ("draft", "Draft"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.published()
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "draft":
            return queryset.drafts()
        return queryset


class RelatedLinksFilter(admin.SimpleListFilter):
    """Report: articles with a related link readers cannot follow."""

    title = "related links"
    parameter_name = "related_links"

    def lookups(self, request, model_admin):
        return [
            ("missing", "Link to a missing article"),
            ("hidden", "Link to a draft or scheduled article"),
        ]

    def queryset(self, request, queryset):
        # Semi-joins that start from the few links concerned (found through the target
        # index), not a per-article probe: IN never duplicates rows, so no DISTINCT.
        if self.value() == "missing":
            links = RelatedLink.objects.filter(target__isnull=True)
            return queryset.filter(pk__in=links.values("article_id"))
        if self.value() == "hidden":
            hidden = Article.objects.unpublished()
            links = RelatedLink.objects.filter(target__in=hidden.values("pk"))
            return queryset.filter(pk__in=links.values("article_id"))
        return queryset


class CrossPostedFilter(admin.SimpleListFilter):
    """Report: copies of one source article cross-posted into several subjects."""

    title = "cross-posted"
    parameter_name = "cross_posted"

    def lookups(self, request, model_admin):
        return [
            ("yes", "Cross-posted copies"),
            ("no_canonical", "Copies with no canonical copy chosen"),
        ]

    def queryset(self, request, queryset):
        copies = Article.objects.filter(source_id=OuterRef("source_id")).exclude(
            subject=OuterRef("subject")
        )
        if self.value() == "yes":
            return queryset.filter(Exists(copies))
        if self.value() == "no_canonical":
            return queryset.filter(Exists(copies), canonical__isnull=True)
        return queryset


class SeoDescriptionFilter(admin.SimpleListFilter):
    """Report: articles whose meta description is missing or too long."""

    title = "SEO description"
    parameter_name = "seo_description"

    def lookups(self, request, model_admin):
        return [
            ("missing", "Missing"),
            ("too_long", f"Longer than {SEO_DESCRIPTION_LIMIT} characters"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "missing":
            return queryset.filter(seo_description="")
        if self.value() == "too_long":
            return queryset.alias(description_length=Length("seo_description")).filter(
                description_length__gt=SEO_DESCRIPTION_LIMIT
            )
        return queryset


# Articles --------------------------------------------------------------------------------


def record_baseline(objects):
    """Give objects that have no history yet a first version: the state they are in now.

    Called before an editor's first change to an imported article, so that change can be
    reverted too. ``objects``: model instances registered with reversion. Opens its own
    revision, so it must run outside any other.
    """
    objects = [obj for obj in objects if obj.pk is not None]
    if not objects:
        return
    model = type(objects[0])
    known = set(
        Version.objects.get_for_model(model)
        .filter(object_id__in=[str(obj.pk) for obj in objects])
        .values_list("object_id", flat=True)
    )
    fresh = [obj for obj in objects if str(obj.pk) not in known]
    if not fresh:
        return
    with reversion.create_revision():
        reversion.set_comment("As it was before its first change in the admin.")
        for obj in fresh:
            reversion.add_to_revision(obj)


class HistoryMixin:
    """Every change recorded with who and when, including the state before the first one,
    and deletions too, so they can be recovered."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            record_baseline(filter(None, [self.get_object(request, unquote(object_id))]))
        return super().change_view(request, object_id, form_url, extra_context)

    def _record_deletion(self, request, objects):
        with reversion.create_revision():
            reversion.set_user(request.user)
            reversion.set_comment("Deleted.")
            for obj in objects:
                reversion.add_to_revision(obj)

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":  # actions and list_editable: one revision for all
            return super().changelist_view(request, extra_context)
        # Reading a list writes nothing: skip VersionAdmin's revision (two savepoints).
        context = {"has_change_permission": self.has_change_permission(request)}
        return admin.ModelAdmin.changelist_view(self, request, {**context, **(extra_context or {})})

    def delete_model(self, request, obj):
        with transaction.atomic():
            self._record_deletion(request, [obj])
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            # Whole rows: a changelist's queryset may defer columns the history needs.
            whole = self.model._default_manager.filter(pk__in=queryset.values("pk"))
            self._record_deletion(request, whole)
            super().delete_queryset(request, queryset)


@admin.register(Article)
class ArticleAdmin(HistoryMixin, VersionAdmin):
    form = ArticleAdminForm
    list_display = ("question", "subject", "date", "visibility", "no_index", "updated")
    list_filter = (
        VisibilityFilter,
        ("subject", admin.RelatedFieldListFilter),
        "no_index",
        RelatedLinksFilter,
        CrossPostedFilter,
        SeoDescriptionFilter,
    )
    list_select_related = ("subject",)
    # Matches the article_newest index, so the first page is read in index order.
    ordering = ("-date", "-id")
    search_fields = ("question", "=slug")
    search_help_text = (
        "Words of the question, an exact slug, a source id, or a page address "
        "(/learn/<subject>/questions/<slug>)."
    )
    autocomplete_fields = ("subject", "canonical")
    prepopulated_fields = {"slug": ("question",)}
    readonly_fields = (
        "visibility",
        "source_path",
        "source_hash",
        "renderer_version",
        "imported_at",
        "edited_at",
        "created",
        "updated",
    )
    inlines = (RelatedLinkInline,)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts scan the table once per filter choice.
    show_facets = ShowFacets.NEVER
    list_per_page = 50
    save_on_top = True
    history_latest_first = True
    revision_form_template = "admin/articles/article/revision_form.html"
    actions = (
        "publish",
        "unpublish",
        "set_no_index",
        "clear_no_index",
        "move_to_subject",
    )
    fieldsets = (
        (
            "Content",
            {"fields": ("subject", "question", "title", "article_title", "slug", "answer")},
        ),
        (
            "SEO",
            {"fields": ("seo_title", "seo_description", "seo_keywords", "no_index", "canonical")},
        ),
        (
            "Publishing",
            {
                "fields": (
                    "status",
                    "publish_at",
                    "visibility",
                    "date",
                    "date_format",
                    "post_on_text",
                    "author",
                )
            },
        ),
        (
            "Source file",
            {
                "classes": ("collapse",),
                "description": "Kept from the imported front matter.",
                "fields": (
                    "source_id",
                    "subject_name",
                    "file_name",
                    "score",
                    "extra_front_matter",
                    "body",
                    "source_path",
                    "source_hash",
                    "renderer_version",
                    "imported_at",
                    "edited_at",
                    "created",
                    "updated",
                ),
            },
        ),
    )

    def get_urls(self):
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="articles_article_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request):
        return admin_views.answer_preview(request, self)

    @admin.display(description="visibility", ordering="status")
    def visibility(self, article):
        return visibility(article) if article.pk else "—"

    def get_search_results(self, request, queryset, search_term):
        address = ADDRESS.fullmatch(search_term.strip())
        if address:
            return queryset.filter(
                subject__slug=address["subject"], slug=address["slug"]
            ), False
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip()
        if term.isdigit() and len(term) <= 18:
            results = results | queryset.filter(source_id=int(term))
        return results, may_have_duplicates

    def save_model(self, request, obj, form, change):
        # The import compares edited_at with its own time to detect editors' changes.
        obj.edited_at = timezone.now()
        if "subject" in form.changed_data:
            obj.subject_name = obj.subject.title
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not RelatedLink:
            return super().save_formset(request, form, formset, change)
        links = formset.save(commit=False)
        for link in formset.deleted_objects:
            link.delete()
        # (article, position) is unique and checked row by row, so a link that changes
        # place is removed first and inserted again once the others have moved.
        moving = [link for link, fields in formset.changed_objects if "position" in fields]
        RelatedLink.objects.filter(pk__in=[link.pk for link in moving]).delete()
        for link in moving:
            link.pk = None
            link._state.adding = True
        for link in sorted(links, key=lambda link: link in moving):
            link.save()
        formset.save_m2m()

    def get_changelist(self, request, **kwargs):
        return ArticleChangeList

    def changelist_view(self, request, extra_context=None):
        # Bulk actions open their own revisions (a baseline first, then the change), which
        # VersionAdmin's one revision around the whole list would swallow.
        context = {"has_change_permission": self.has_change_permission(request)}
        return admin.ModelAdmin.changelist_view(self, request, {**context, **(extra_context or {})})

    def revision_view(self, request, object_id, version_id, extra_context=None):
        # Computed before VersionAdmin reverts inside its transaction: "now" is the row as
        # it stands, "then" the version the editor is about to restore.
        article = self.get_object(request, object_id)
        version = Version.objects.get_for_object_reference(Article, object_id).filter(
            pk=version_id
        ).first()
        field_changes = (
            admin_views.article_version_changes(version, article)
            if article is not None and version is not None
            else []
        )
        context = {"changes": field_changes, "compared": version is not None, **(extra_context or {})}
        before = changes.stored_article(article) if article is not None else None
        response = super().revision_view(request, object_id, version_id, context)
        if request.method == "POST" and response.status_code == 302 and before is not None:
            # django-reversion restores the row with a raw save before the form saves it
            # again, so Article.save() never sees a reverted move: record it here.
            reverted = Article.objects.select_related("subject").filter(pk=article.pk).first()
            if reverted is not None:
                changes.article_saved(reverted, before)
        return response

    # Bulk actions: each article is saved on its own, so history, edited_at and redirects
    # are written as for a change made in the form.

    def _save_each(self, request, queryset, change, fields, label):
        """Apply ``change(article) -> bool`` to each article and save those it changed."""
        now = timezone.now()
        changed = 0
        pks = list(queryset.order_by().values_list("pk", flat=True))
        comment = f"{label} (bulk action on {len(pks)} article{'s' if len(pks) != 1 else ''})."
        for start in range(0, len(pks), 200):
            batch = Article.objects.filter(pk__in=pks[start : start + 200])
            batch = [a for a in batch.select_related("subject").order_by("pk") if change(a)]
            if not batch:
                continue
            record_baseline(
                Article.objects.filter(pk__in=[a.pk for a in batch]).select_related("subject")
            )
            with reversion.create_revision():
                reversion.set_user(request.user)
                for article in batch:
                    article.edited_at = now
                    article.save()
                    self.log_change(request, article, [{"changed": {"fields": list(fields)}}])
                reversion.set_comment(comment)
            changed += len(batch)
        return changed

    def _report(self, request, changed, total, done):
        unchanged = total - changed
        message = f"{changed} article{'s' if changed != 1 else ''} {done}."
        if unchanged:
            message += f" {unchanged} already were."
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(permissions=["change"], description="Publish now")
    def publish(self, request, queryset):
        def change(article):
            if article.is_published:
                return False
            article.status = Article.Status.PUBLISHED
            if not article.is_published:
                article.publish_at = None  # scheduled for later: publish now instead
            return True

        total = queryset.count()
        changed = self._save_each(request, queryset, change, ["Status", "Publish at"], "Published")
        self._report(request, changed, total, "published")

    @admin.action(permissions=["change"], description="Unpublish (back to draft)")
    def unpublish(self, request, queryset):
        def change(article):
            if article.status == Article.Status.DRAFT:
                return False
            article.status = Article.Status.DRAFT
            return True

        total = queryset.count()
        changed = self._save_each(request, queryset, change, ["Status"], "Unpublished")
        self._report(request, changed, total, "moved back to draft")

    def _set_no_index(self, request, queryset, value):
        def change(article):
            if article.no_index == value:
                return False
            article.no_index = value
            return True

        total = queryset.count()
        label = "Set noindex" if value else "Cleared noindex"
        changed = self._save_each(request, queryset, change, ["noindex"], label)
        self._report(request, changed, total, "set to noindex" if value else "indexable again")

    @admin.action(permissions=["change"], description="Set noindex")
    def set_no_index(self, request, queryset):
        self._set_no_index(request, queryset, True)

    @admin.action(permissions=["change"], description="Clear noindex")
    def clear_no_index(self, request, queryset):
        self._set_no_index(request, queryset, False)

    @admin.action(permissions=["change"], description="Move to another subject…")
    def move_to_subject(self, request, queryset):
        form = admin_views.MoveToSubjectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            subject = form.cleaned_data["subject"]
            taken = set(
                Article.objects.filter(
                    subject=subject, slug__in=queryset.values("slug")
                ).values_list("slug", flat=True)
            )
            clashes = []

            def change(article):
                if article.subject_id == subject.pk:
                    return False
                if article.slug in taken:
                    clashes.append(article)
                    return False
                article.subject = subject
                article.subject_name = subject.title
                return True

            total = queryset.count()
            changed = self._save_each(
                request, queryset, change, ["Subject"], f"Moved to {subject.title}"
            )
            self.message_user(
                request,
                f"{changed} article{'s' if changed != 1 else ''} moved to {subject.title}; "
                "their old addresses redirect to the new ones.",
                messages.SUCCESS,
            )
            if clashes:
                self.message_user(
                    request,
                    f"{len(clashes)} not moved: {subject.title} already has an article with "
                    f"the same slug ({', '.join(a.slug for a in clashes[:5])}"
                    f"{', …' if len(clashes) > 5 else ''}).",
                    messages.WARNING,
                )
            if total - changed - len(clashes):
                self.message_user(
                    request, f"{total - changed - len(clashes)} already were there.", messages.INFO
                )
            return None

        context = {
            **self.admin_site.each_context(request),
            "title": "Move articles to another subject",
            "opts": self.model._meta,
            "form": form,
            "articles": list(queryset.select_related("subject")[:50]),
            "total": queryset.count(),
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/articles/article/move_to_subject.html", context)


# Subjects --------------------------------------------------------------------------------


@admin.register(Subject)
class SubjectAdmin(HistoryMixin, VersionAdmin):
    list_display = ("title", "slug", "listed", "position", "article_count", "published_count")
    list_editable = ("listed", "position")
    list_filter = ("listed",)
    search_fields = ("title", "slug")
    show_facets = ShowFacets.NEVER

    def get_queryset(self, request):
        # One counting subquery per subject, through the article_subject_listing index,
        # rather than joining every article and grouping (about 10x faster on SQLite).
        def count_of(articles):
            per_subject = (
                articles.filter(subject=OuterRef("pk"))
                .order_by()
                .values("subject")
                .annotate(n=Count("pk"))
                .values("n")
            )
            return Coalesce(Subquery(per_subject, output_field=IntegerField()), 0)

        return (
            super()
            .get_queryset(request)
            .annotate(
                article_count=count_of(Article.objects.all()),
                # As on /learn (SubjectQuerySet.with_article_counts).
                published_count=count_of(Article.objects.published()),
            )
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "slug" in form.base_fields:
            form.base_fields["slug"].help_text = (
                "Part of every address in this subject: changing it moves all its articles "
                "(their old addresses redirect to the new ones)."
            )
        return form

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else {"slug": ("title",)}

    @admin.display(ordering="article_count", description="articles")
    def article_count(self, subject):
        url = reverse("admin:articles_article_changelist")
        return format_html(
            '<a href="{}?subject__id__exact={}">{}</a>', url, subject.pk, subject.article_count
        )

    @admin.display(ordering="published_count", description="published")
    def published_count(self, subject):
        return subject.published_count


# Related links ---------------------------------------------------------------------------


class RelatedLinkAdminForm(RelatedLinkForm):
    """A link edited on its own page: there is no formset to give it a free position."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["position"].required = True


@admin.register(RelatedLink)
class RelatedLinkAdmin(HistoryMixin, VersionAdmin):
    form = RelatedLinkAdminForm
    list_display = ("title", "article", "position", "url", "leads_to")
    list_select_related = ("article", "target")
    list_filter = (("target", admin.EmptyFieldListFilter),)
    # The (article, position) unique index, not the articles' own order (a join and sort).
    ordering = ("article_id", "position")
    search_fields = ("title", "=url")
    autocomplete_fields = ("article", "target")
    fields = ("article", "position", "target", "title", "url")
    readonly_fields = ("url",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    @admin.display(description="leads to", boolean=False)
    def leads_to(self, link):
        if link.target_id is None:
            return format_html('<span class="link-missing">{}</span>', "Missing")
        return str(link.target)
