"""Subjects, articles and their related links: the rows a page is built from.

An article's public address is ``/learn/<subject slug>/questions/<slug>`` (the corpus's
``url``); that pair is its identity for imports. The answer is stored twice: the Markdown
source and the HTML rendered from it once, at save or import time, by articles.rendering.
"""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from articles import modified, querysets, rendering
from articles.querysets import (
    ArticleQuerySet,
    RedirectQuerySet,
    RelatedLinkQuerySet,
    SubjectQuerySet,
)


class Subject(models.Model):
    title = models.CharField(
        max_length=200, help_text="Display name, as shown on /learn and in breadcrumbs."
    )
    slug = models.SlugField(
        max_length=200, unique=True, help_text="The subject's part of every address."
    )
    listed = models.BooleanField(
        default=True,
        help_text=(
            "Shown on /learn and offered to search engines. Unlisted subjects are still "
            "served, with noindex."
        ),
    )
    position = models.PositiveIntegerField(
        default=0, help_text="Order on /learn: lower comes first."
    )
    card = models.CharField(
        max_length=255,
        blank=True,
        default="",
        editable=False,
        help_text="The subject's share image (1200×630 PNG, for link previews) in storage: "
        "drawn when the subject is saved with a new title (articles.cards); empty until "
        "then, when pages show the site's card.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = SubjectQuerySet.as_manager()

    class Meta:
        ordering = ["position", "title"]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        """Save; what follows (a changed slug leaves 301s from the old addresses of the
        subject and of every article in it) runs in articles.changes, in the same
        transaction."""
        with transaction.atomic():
            super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("articles:subject", kwargs={"subject": self.slug})


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = querysets.DRAFT, "Draft"
        PUBLISHED = querysets.PUBLISHED, "Published"

    class Review(models.TextChoices):
        NONE = "", "None asked"
        SUBMITTED = "submitted", "Waiting for review"
        APPROVED = "approved", "Published by a publisher"
        CHANGES = "changes", "Changes asked for"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="articles")
    slug = models.SlugField(
        max_length=255, help_text="The article's part of its address; unique in its subject."
    )
    source_id = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text=(
            "The front matter's id. Not unique: a cross-posted article keeps one id in "
            "every subject it appears in."
        ),
    )
    title = models.CharField(max_length=300)
    article_title = models.CharField(max_length=300, blank=True)
    question = models.CharField(max_length=300, help_text="Shown as the page's heading.")
    answer = models.TextField(help_text="Markdown. Math: $…$, $$…$$, \\(…\\), \\[…\\].")
    answer_html = models.TextField(
        blank=True, editable=False, help_text="Rendered from the answer on save; never edited."
    )
    renderer_version = models.PositiveIntegerField(default=0, editable=False)
    date = models.DateField(help_text="Shown after “Posted on”.")
    date_format = models.CharField(
        max_length=50, default="MMM DD, YYYY", help_text="moment.js-style, e.g. MMM DD, YYYY."
    )
    post_on_text = models.CharField(max_length=100, default="Posted on")
    author = models.CharField(max_length=200, blank=True, default="QuickTakes")
    subject_name = models.CharField(
        max_length=200,
        blank=True,
        help_text="The subject as the source file spells it (its case may differ).",
    )
    file_name = models.CharField(max_length=300, blank=True)
    seo_title = models.CharField("SEO title", max_length=300, blank=True)
    seo_description = models.TextField(
        "SEO description", blank=True, help_text="Meta description; keep it under 160 characters."
    )
    seo_keywords = models.TextField("SEO keywords", blank=True, help_text="Comma-separated.")
    score = models.FloatField(null=True, blank=True)
    no_index = models.BooleanField(
        "noindex", default=False, help_text="Keep this article out of search engines."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PUBLISHED, db_index=True
    )
    publish_at = models.DateTimeField(
        "publish at",
        null=True,
        blank=True,
        help_text="Leave empty to publish now; a future time schedules a published article.",
    )
    canonical = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        help_text=(
            "For a cross-posted copy: the copy search engines should index. Empty when "
            "this article is itself canonical."
        ),
    )
    extra_front_matter = models.JSONField(
        default=dict,
        blank=True,
        help_text="Front matter keys this model does not know, kept as written.",
    )
    front_matter_keys = models.JSONField(
        default=list, blank=True, editable=False, help_text="The source file's key order."
    )
    body = models.TextField(
        blank=True, default="", help_text="Text after the front matter, kept as written."
    )
    source_path = models.CharField(
        max_length=500,
        blank=True,
        default="",
        editable=False,
        help_text="Absolute path of the file last imported into this article (inside an "
        "archive: the archive's path, then the member's); empty for articles written in "
        "the admin.",
    )
    imported_at = models.DateTimeField(null=True, blank=True, editable=False)
    edited_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Last change made by an editor (not by an import).",
    )
    answer_edited_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Last time an editor changed the answer (not an import, not other fields); "
        "after the posting date, the page says “Updated on” that day.",
    )
    content_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When readers' text (title, question, answer) last changed after the "
        "posting date: an editor's change, or an import of a changed file that keeps its "
        "date. Empty: unchanged since the posting date (a file with a new date clears it). "
        "The article's modified time (sitemaps, feeds, page head) is this, else the "
        "posting date.",
    )
    source_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        editable=False,
        help_text="SHA-256 of the file this article was last imported from.",
    )
    review = models.CharField(
        max_length=10,
        choices=Review.choices,
        blank=True,
        default="",
        db_index=True,
        editable=False,
        help_text="Where the article stands in review: an editor submits it, a publisher "
        "publishes it or asks for changes.",
    )
    review_note = models.CharField(
        max_length=500, blank=True, default="", editable=False, help_text="The publisher's note."
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        help_text="Who last submitted the article for review.",
    )
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Goes up by one with every change, whoever makes it (an editor, an import, "
        "a bulk action, a revert); a change started from an older version is refused.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "question"]
        permissions = [
            ("import_articles", "Can import articles"),
            ("publish_article", "Can publish, unpublish and schedule articles"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "slug"], name="article_unique_slug_per_subject"
            ),
        ]
        indexes = [
            models.Index(
                fields=["subject", "status", "-date", "question"], name="article_subject_listing"
            ),
            models.Index(fields=["-date", "-id"], name="article_newest"),
            # The publication schedule (changes.publish_due): the articles whose time came
            # since the last check and the next one due, read without a scan.
            models.Index(fields=["status", "publish_at"], name="article_schedule"),
            # Each import batch looks up the articles its files made before, by path (a
            # file whose url changed): on the corpus each lookup read the whole table.
            models.Index(fields=["source_path"], name="article_source_path"),
        ]

    def __str__(self):
        return self.question

    def save(self, *args, **kwargs):
        """Save an editor's change: render the answer when it changed or the renderer is
        newer, stamp ``edited_at`` (imports write in bulk and never come here), forget the
        imported file's hash and add one to ``version``.

        Raises StaleVersion, writing nothing, when the stored version is no longer the one
        this change started from: ``base_version`` when the caller set it (a form carries
        the version it was opened at), else the version this instance was loaded at.
        """
        self.edited_at = timezone.now()
        if self._answer_changed():
            self.answer_edited_at = self.edited_at
        if self._content_changed():
            self.content_changed_at = self.edited_at
        # An editor's change: the file's hash no longer describes the row, so the next
        # import reads the file and reports it as a conflict instead of "unchanged".
        self.source_hash = ""
        extra = {"edited_at", "answer_edited_at", "content_changed_at", "version", "source_hash"}
        if self.renderer_version != rendering.RENDERER_VERSION or self.answer != getattr(
            self, "_rendered_answer", None
        ):
            self.render()
            extra |= {"answer_html", "renderer_version"}
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *extra}
        # What follows (a 301 after a move, canonical copies, the search index, the page
        # cache) runs in articles.changes, in the same transaction.
        with transaction.atomic():
            if not self._state.adding and self.pk is not None:
                self._claim_next_version()
            super().save(*args, **kwargs)
        # The next save compares its text with the text stored now.
        self._loaded_content = {
            name: self.__dict__[name] for name in modified.CONTENT_FIELDS if name in self.__dict__
        }

    def get_absolute_url(self):
        return reverse("articles:detail", kwargs={"subject": self.subject.slug, "slug": self.slug})

    def _claim_next_version(self):
        """Lock the stored row, check its version against the one this change started
        from, and take the next one. Raises StaleVersion.

        The lock (PostgreSQL's FOR NO KEY UPDATE) keeps out other writers of the row but
        not the key-share lock a foreign-key check takes on it: an import committing rows
        that refer to this article (its related suggestions) goes on, where FOR UPDATE
        made the two wait for each other until one failed with "deadlock detected"."""
        stored = (
            type(self)
            ._base_manager.using(self._state.db)
            .select_for_update(no_key=True)
            .filter(pk=self.pk)
            .values_list("version", flat=True)
            .first()
        )
        if stored is None:
            return  # deleted meanwhile: the save inserts it again, as Django does
        started_from = self.base_version if self.base_version is not None else self._loaded_version
        if started_from is not None and started_from != stored:
            raise StaleVersion(self, started_from, stored)
        self.version = stored + 1
        self._loaded_version = self.version
        self.base_version = None

    def _answer_changed(self):
        """True when this save changes the answer of a stored article: the answer differs
        from the one loaded (a new article, or one loaded without its answer, is not)."""
        if self._state.adding or "_rendered_answer" not in self.__dict__:
            return False
        return self.answer != self._rendered_answer

    def _content_changed(self):
        """True when this save changes the text readers see (modified.CONTENT_FIELDS) of a
        stored article, compared with the values it was loaded with (fields not loaded
        count as unchanged)."""
        loaded = self.__dict__.get("_loaded_content")
        if self._state.adding or not loaded:
            return False
        current = {name: self.__dict__[name] for name in loaded if name in self.__dict__}
        return modified.content_changed(loaded, current)

    @property
    def modified_at(self):
        """When the article last changed for its readers (an aware datetime): the posting
        date's start in UTC, or ``content_changed_at`` when later (articles.modified).
        Named by the page's JSON-LD and Open Graph, the sitemap and the feeds."""
        return modified.modified_time(self.date, self.content_changed_at)

    @property
    def updated_on(self):
        """The day an editor last changed the answer, when that is after the posting date
        (``date``); else None. Shown as “Updated on” on the page."""
        if self.answer_edited_at is None:
            return None
        day = timezone.localdate(self.answer_edited_at)
        return day if day > self.date else None

    @property
    def is_published(self):
        """True when readers may see the article now: the row form of
        ``Article.objects.published()`` (articles.querysets)."""
        return querysets.is_published(self.status, self.publish_at)

    @property
    def edited_since_import(self):
        """True when an editor changed the article after its last import (or it was
        written in the admin and never imported): an import must not overwrite it."""
        return self.edited_at is not None and (
            self.imported_at is None or self.edited_at > self.imported_at
        )

    def render(self):
        """Set ``answer_html`` from ``answer`` with the current renderer. Does not save."""
        self.answer_html = rendering.render_markdown(self.answer).html
        self.renderer_version = rendering.RENDERER_VERSION
        self._rendered_answer = self.answer

    #: The version a change started from, when it is older than the instance: set by the
    #: admin's form from the version it was opened at. None: the version loaded.
    base_version = None
    _loaded_version = None

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The stored HTML matches the stored answer; remember which answer that was.
        if "answer" in field_names:
            instance._rendered_answer = instance.answer
        if "version" in field_names:
            instance._loaded_version = instance.version
        instance._loaded_content = {
            name: getattr(instance, name) for name in modified.CONTENT_FIELDS if name in field_names
        }
        return instance


class StaleVersion(Exception):
    """A change to an article that started from an older version than the stored one:
    someone else (an editor, an import, a bulk action, a revert) wrote in between.
    ``article``: the instance that was to be saved; ``started_from`` and ``stored``: the
    two version numbers."""

    def __init__(self, article, started_from, stored):
        self.article = article
        self.started_from = started_from
        self.stored = stored
        super().__init__(
            f"{article.question!r} was changed by someone else since version {started_from} "
            f"(it is at version {stored} now)"
        )


class RelatedLink(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="related_links")
    position = models.PositiveSmallIntegerField(help_text="1 to 5, the order shown.")
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=500, help_text="Address as written in the source file.")
    subject_name = models.CharField(max_length=200, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    target = models.ForeignKey(
        Article,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incoming_links",
        help_text="The article the url leads to; empty when no article stands there.",
    )

    objects = RelatedLinkQuerySet.as_manager()

    class Meta:
        ordering = ["article", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "position"], name="related_link_unique_position"
            ),
            models.CheckConstraint(
                condition=models.Q(position__gte=1, position__lte=5),
                name="related_link_position_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["url"], name="related_link_url")]

    def __str__(self):
        return f"{self.position}. {self.title}"


class Redirect(models.Model):
    """An address that moved: ``old_path`` answers 301 to ``new_path``.

    Paths are site-relative (``/learn/<subject>/questions/<slug>``). Chains are kept
    collapsed: every row points at a final address, never at another row's old_path.
    """

    class Source(models.TextChoices):
        MOVED_FILE = "moved-file", "Moved-questions file"
        EDITOR = "editor", "Editor moved it"

    old_path = models.CharField(max_length=500, unique=True)
    new_path = models.CharField(max_length=500, db_index=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.EDITOR)
    created = models.DateTimeField(auto_now_add=True)

    objects = RedirectQuerySet.as_manager()

    class Meta:
        ordering = ["old_path"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(old_path=models.F("new_path")), name="redirect_not_to_itself"
            )
        ]

    def __str__(self):
        return f"{self.old_path} → {self.new_path}"


class SearchDocument(models.Model):
    """One article's entry in the PostgreSQL search index, read by articles.search.

    The table and its GIN index are made by migration 0004 on PostgreSQL only (SQLite uses
    an FTS5 table instead), so Django does not manage it. ``document`` is a generated
    column the database computes from the text columns; nothing writes it.
    """

    article = models.OneToOneField(
        Article,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_constraint=False,
        related_name="search_document",
    )
    question = models.TextField()
    title = models.TextField(help_text="Titles that differ from the question, if any.")
    keywords = models.TextField()
    answer = models.TextField(help_text="The answer as plain text.")
    document = SearchVectorField()
    words = SearchVectorField(help_text="The words as typed, unstemmed (migration 0007).")

    class Meta:
        managed = False
        db_table = "articles_search_document"

    def __str__(self):
        return self.question


class SearchTerm(models.Model):
    """One word of the search index's vocabulary, as written (lower case, accents removed),
    with the number of articles holding it; read by articles.search for "Did you mean".

    The table is made by migration 0007 on both databases and refilled from the index by
    ``articles.search.refresh_vocabulary()``, so Django does not manage it.
    """

    term = models.TextField(primary_key=True)
    documents = models.IntegerField(help_text="Articles holding the word.")

    class Meta:
        managed = False
        db_table = "articles_search_term"
        ordering = ["term"]

    def __str__(self):
        return self.term


class ArticleImportQuerySet(models.QuerySet):
    def update(self, **fields):
        # Every change of an import is stamped, bulk or not: a step that has not moved for
        # long is taken for stopped (articles.admin.imports.stalled).
        fields.setdefault("updated", timezone.now())
        return super().update(**fields)


class ArticleImport(models.Model):
    """Files an editor uploaded in the admin to import: their dry run's report, then (once
    confirmed) the import's. The files wait in storage until the import is applied or
    cancelled; the reports stay. The work itself is articles.importing.uploads."""

    class Status(models.TextChoices):
        CHECKING = "checking", "checking (dry run)"
        CHECKED = "checked", "checked: waiting for confirmation"
        APPLYING = "applying", "importing"
        APPLIED = "applied", "imported"
        CANCELLED = "cancelled", "cancelled"
        FAILED = "failed", "failed"

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CHECKING)
    files = models.JSONField(
        default=list,
        help_text="The uploaded files: their names, sizes and names in storage (removed "
        "once the import is applied or cancelled).",
    )
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes uploaded, all files.")
    task_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The background job (Tasks API result id) of the step under way, if any.",
    )
    check_report = models.JSONField(null=True, blank=True, help_text="The dry run's report.")
    apply_report = models.JSONField(null=True, blank=True, help_text="The import's report.")
    error = models.TextField(blank=True, default="", help_text="Why it failed.")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ArticleImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        # One permission rules these pages: Article's "import_articles".
        default_permissions = ()

    def __str__(self):
        names = ", ".join(item["name"] for item in self.files[:3])
        more = f" and {len(self.files) - 3} more" if len(self.files) > 3 else ""
        return f"Import of {names}{more}"

    def get_absolute_url(self):
        return reverse("admin:articles_articleimport_change", args=[self.pk])

    @property
    def running(self):
        return self.status in (self.Status.CHECKING, self.Status.APPLYING)


class ArticleDraft(models.Model):
    """The unpublished next version of a live article, saved by someone who may not
    publish: readers keep getting the article's row, as it is, until a publisher publishes
    the draft (articles.admin.review), which saves it over the row through Article.save().

    ``values`` holds the draft's fields (articles.admin.review.DRAFT_FIELDS) as text, as
    Django serialises them; ``version`` is the article's version the draft was saved at: a
    change to the article since (an import, a publisher) makes it stale, and publishing it
    is refused until an editor saves it again over the article as it is now.
    """

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="draft")
    values = models.JSONField(help_text="The draft's fields, as text.")
    version = models.PositiveIntegerField(help_text="The article's version it was saved at.")
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["saved_at"]

    def __str__(self):
        return f"Draft of {self.article_id} at version {self.version}"


class RelatedSuggestion(models.Model):
    """A question similar to an article, found in the search index (question and keywords)
    and stored by articles.related at import and save time: the article page fills its
    related questions up to five with these, best first, when its own links lead to fewer.

    Never the article itself or a cross-posted copy of it; only articles readers could see
    when it was computed (pages check again).
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="suggestions")
    suggested = models.ForeignKey(
        Article,
        on_delete=models.CASCADE,
        related_name="suggested_for",
        help_text="The similar article.",
    )
    rank = models.PositiveSmallIntegerField(help_text="1 for the most similar.")
    score = models.FloatField(
        help_text="Cosine similarity of the two questions and keywords, 0 to 1."
    )

    class Meta:
        ordering = ["article", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "rank"], name="related_suggestion_unique_rank"
            ),
        ]

    def __str__(self):
        return f"{self.rank}. {self.suggested_id} for {self.article_id}"


class Image(models.Model):
    """A picture editors upload for answers. Its file's name carries its size and the
    format of its renditions (articles.rendering.images), so an answer's `![alt](address)`
    renders without a lookup; the upload, checks and renditions are articles.images."""

    file = models.FileField(
        max_length=255,
        unique=True,
        help_text="PNG, JPEG, WebP or GIF (not SVG), at most 10 MB. Renditions for "
        "narrower screens are made once, by a background job after the upload; the file "
        "cannot be replaced later.",
    )
    alt_text = models.CharField(
        max_length=300,
        help_text="What the picture shows, for readers who cannot see it (screen readers, "
        "images off). Pasted into the answer's Markdown with the address.",
    )
    width = models.PositiveIntegerField(editable=False, help_text="In pixels.")
    height = models.PositiveIntegerField(editable=False, help_text="In pixels.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    renditions_ready = models.BooleanField(
        default=False,
        editable=False,
        help_text="False from the upload until the background job has stored the renditions "
        "its name promises (articles.tasks.make_image_renditions).",
    )

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        indexes = [models.Index(fields=["-uploaded_at"], name="image_uploaded_at")]

    def __str__(self):
        return self.alt_text

    def get_absolute_url(self):
        """The image's address on this site (rendering.images.media_url)."""
        return rendering.images.media_url(self.file.name)

    @property
    def markdown(self):
        """The Markdown that shows this image in an answer."""
        alt = self.alt_text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        return f"![{alt}]({self.get_absolute_url()})"
