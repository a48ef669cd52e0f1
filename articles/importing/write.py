"""Applying plans: each batch in one transaction, its existing rows locked, written with
bulk_create / bulk_update together with its related links and search entries (Writer).
It decides nothing about an article itself: that comes from plan.plan_batch.
"""

from __future__ import annotations

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from articles import changes, modified, redirects
from articles.addresses import article_path
from articles.caching import wide_change
from articles.frontmatter import URL_RE, FrontMatterError
from articles.importing.plan import Action, StoredArticle, plan_batch
from articles.importing.prepare import IMPORTED_FIELDS, LINK_FIELDS
from articles.importing.subjects import known_subjects, subject_for
from articles.models import Article, Redirect, RelatedLink

#: Written on every create or update, besides IMPORTED_FIELDS.
BOOKKEEPING_FIELDS = (
    "answer_html",
    "renderer_version",
    "source_hash",
    "source_path",
    "imported_at",
    "updated",
    "version",
    "content_changed_at",
)


def stored_article(article):
    """The planner's view of a row read (and locked) by Writer._write; None stays None."""
    if article is None:
        return None
    return StoredArticle(
        pk=article.pk,
        fields={name: getattr(article, name) for name in IMPORTED_FIELDS},
        links=[
            tuple(getattr(link, name) for name in LINK_FIELDS)
            for link in article.related_links.all()
        ],
        status=article.status,
        edited_since_import=article.edited_since_import,
        edited_at=article.edited_at,
    )


class Writer:
    """Accumulates prepared articles and writes them in batched transactions.

    Counts, conflicts and refused articles are added to ``report`` (an ImportReport) as
    each batch commits.
    """

    def __init__(self, report, subjects_fixed, force, batch_size):
        self.report = report
        self.subjects_fixed = subjects_fixed
        self.force = force
        self.batch_size = batch_size
        self.subjects = known_subjects()
        self.addresses = {
            (subject_slug, slug): pk
            for pk, subject_slug, slug in Article.objects.values_list("pk", "subject__slug", "slug")
        }
        self.pending = []

    def add(self, prepared):
        self.pending.append(prepared)
        if len(self.pending) >= self.batch_size:
            self.flush()

    def flush(self):
        batch, self.pending = self.pending, []
        if not batch:
            return
        # Subjects and addresses learnt inside a transaction that rolls back are forgotten.
        subjects, addresses = dict(self.subjects), dict(self.addresses)
        try:
            self._write(batch)
        except DatabaseError as error:
            self.subjects, self.addresses = subjects, addresses
            if len(batch) == 1:
                prepared = batch[0]
                self.report.errors.append(
                    FrontMatterError(
                        prepared.record.path,
                        f"the database refused the article ({error}); nothing was written",
                    )
                )
                return
            # Find the article at fault: write the batch again one article at a time.
            for prepared in batch:
                self.pending = [prepared]
                self.flush()

    def _write(self, batch):
        """Write one batch in one transaction; counts are added only once it commits."""
        now = timezone.now()
        with transaction.atomic():
            by_address = {}
            # Articles changed by plain updates below (moved, published again): the bulk
            # writes name their own pages, these are named with the batch.
            self.touched = set()
            moved = self._moved_addresses(batch)
            for prepared in batch:
                if prepared.record.url in moved:
                    subject, slug = moved[prepared.record.url]
                else:
                    subject = subject_for(prepared.record, self.subjects, self.subjects_fixed)
                    slug = prepared.record.slug
                by_address[(subject.pk, slug)] = (subject, prepared)
            existing = {
                (a.subject_id, a.slug): a
                # Locked until the batch commits (PostgreSQL), so an editor's save cannot
                # fall between this read and the write; SQLite holds its write lock anyway.
                for a in Article.objects.filter(
                    subject_id__in={key[0] for key in by_address},
                    slug__in={key[1] for key in by_address},
                )
                .select_for_update(of=("self",), no_key=True)
                .prefetch_related("related_links")
            }
            self._follow_moved_files(by_address, existing)
            plan = plan_batch(
                [
                    (prepared, stored_article(existing.get(key)))
                    for key, (_, prepared) in by_address.items()
                ],
                force=self.force,
            )
            rows = {article.pk: article for article in existing.values()}
            to_create, to_update = [], []
            for decision in plan.decisions:
                prepared, stored = decision.prepared, decision.stored
                if decision.action is Action.CREATE:
                    article = Article(
                        subject=self.subjects[prepared.record.subject_slug],
                        slug=prepared.record.slug,
                        status=Article.Status.PUBLISHED,
                        **prepared.field_values(),
                    )
                    to_create.append((article, prepared))
                elif decision.action in (Action.UNCHANGED, Action.REPUBLISH):
                    # Same content in other bytes (or from another path): remember them,
                    # through the base manager since readers see no change.
                    bookkeeping = {
                        "source_hash": prepared.record.source_hash,
                        "source_path": prepared.source_path,
                    }
                    if decision.action is Action.REPUBLISH:
                        bookkeeping["status"] = Article.Status.PUBLISHED
                        bookkeeping["version"] = F("version") + 1
                        self.touched.add(stored.pk)
                    Article._base_manager.filter(pk=stored.pk).update(**bookkeeping)
                elif decision.action is Action.UPDATE:
                    article = rows[stored.pk]
                    values = prepared.field_values()
                    before = {name: getattr(article, name) for name in modified.CONTENT_FIELDS}
                    article.content_changed_at = modified.imported_change_time(
                        article.date,
                        values["date"],
                        modified.content_changed(before, values),
                        article.content_changed_at,
                        now,
                    )
                    for name, value in values.items():
                        setattr(article, name, value)
                    to_update.append((article, prepared))
                # A CONFLICT writes nothing: the plan carries its message.
            for article, prepared in [*to_create, *to_update]:
                article.answer_html = prepared.answer_html
                article.renderer_version = prepared.renderer_version
                article.source_hash = prepared.record.source_hash
                article.source_path = prepared.source_path
                article.imported_at = now
                article.updated = now
            for article, _ in to_update:
                # Read under the batch's row lock: an editor's form opened before this
                # write is refused afterwards, as after any other change.
                article.version += 1
            with wide_change(len(to_create) + len(to_update) + len(self.touched)):
                Article.objects.bulk_insert([article for article, _ in to_create])
                if to_update:
                    Article.objects.bulk_update(
                        [article for article, _ in to_update],
                        [*IMPORTED_FIELDS, *BOOKKEEPING_FIELDS],
                    )
                # Bulk writes send no signals: what follows them, in the same transaction.
                written = [*to_create, *to_update]
                changes.articles_imported(
                    [article for article, _ in written],
                    self.touched,
                    answer_texts=[prepared.answer_text for _, prepared in written],
                )
                for article, _ in to_create:
                    self.addresses[(article.subject.slug, article.slug)] = article.pk
                self._write_links(to_create, to_update, rows)
        self.report.created += plan.created
        self.report.updated += plan.updated
        self.report.unchanged += plan.unchanged
        self.report.conflicts.extend(plan.conflicts)
        self.report.articles.extend(
            (decision.action.value, decision.prepared.record.url) for decision in plan.decisions
        )

    def _follow_moved_files(self, by_address, existing):
        """A file whose ``url`` changed since its last import moves the article it made
        (found by its source path) to the new address, with a 301 from the old one, instead
        of making a second article; the plan then updates it there. An article an editor
        changed since is left where it is (reported as a conflict) unless forced.
        ``existing`` gains the moved articles; the address changes are written here."""
        missing = {
            prepared.source_path: key
            for key, (_, prepared) in by_address.items()
            if key not in existing and prepared.source_path
        }
        if not missing:
            return
        moves = {}
        for article in (
            Article.objects.filter(source_path__in=missing)
            .select_related("subject")
            .select_for_update(of=("self",))
            .prefetch_related("related_links")
        ):
            key = missing[article.source_path]
            subject, prepared = by_address[key]
            if article.edited_since_import and not self.force:
                del by_address[key]
                self.report.conflicts.append(
                    f"{prepared.record.path}: its url is now {prepared.record.url}, but the "
                    f"article it made ({article_path(article.subject.slug, article.slug)}) "
                    f"was changed in the admin on {article.edited_at:%Y-%m-%d %H:%M} UTC; "
                    "kept it where it is (use --force to move it)"
                )
                continue
            moves[article_path(article.subject.slug, article.slug)] = prepared.record.url
            article.subject, article.slug = subject, key[1]
            article.version += 1
            Article._base_manager.filter(pk=article.pk).update(
                subject=subject, slug=key[1], version=article.version
            )
            self.touched.add(article.pk)
            existing[key] = article
        if moves:
            redirects.record_moves(moves, source=Redirect.Source.MOVED_FILE)

    def _moved_addresses(self, batch):
        """``{url: (Subject, slug)}`` for the batch's files whose address an editor moved an
        article away from (a Redirect row starts there, no article stands there, and an
        article stands where it leads): the file updates that article where it is now,
        and its old subject is never created again. Two queries."""
        urls = {prepared.record.url: prepared.record for prepared in batch}
        redirects = dict(
            Redirect.objects.filter(old_path__in=urls).values_list("old_path", "new_path")
        )
        if not redirects:
            return {}
        targets = {}
        for old, new in redirects.items():
            match = URL_RE.match(new)
            if match and match["subject"] in self.subjects:
                targets[old] = (self.subjects[match["subject"]], match["slug"])
        addresses = {(urls[old].subject_slug, urls[old].slug) for old in targets} | {
            (subject.slug, slug) for subject, slug in targets.values()
        }
        standing = set(
            Article._base_manager.filter(
                subject__slug__in={subject for subject, _ in addresses},
                slug__in={slug for _, slug in addresses},
            ).values_list("subject__slug", "slug")
        )
        return {
            old: (subject, slug)
            for old, (subject, slug) in targets.items()
            if (urls[old].subject_slug, urls[old].slug) not in standing
            and (subject.slug, slug) in standing
        }

    def _write_links(self, to_create, to_update, rows):
        """Write the files' related links. An updated article's rows are changed in place,
        position by position, so an editor's form that holds them stays valid; rows past
        the file's last link are deleted, new positions inserted."""
        fresh, changed, gone = [], [], []
        for article, prepared in [*to_create, *to_update]:
            stored = (
                {link.position: link for link in rows[article.pk].related_links.all()}
                if (article.pk in rows)
                else {}
            )
            for link in prepared.record.related:
                values = {name: getattr(link, name) for name in LINK_FIELDS}
                values["target_id"] = self.resolve(link.url)
                row = stored.pop(link.position, None)
                if row is None:
                    fresh.append(RelatedLink(article_id=article.pk, **values))
                elif any(getattr(row, name) != value for name, value in values.items()):
                    for name, value in values.items():
                        setattr(row, name, value)
                    changed.append(row)
            gone.extend(row.pk for row in stored.values())
        if gone:
            RelatedLink.objects.filter(pk__in=gone).delete()
        if changed:
            RelatedLink.objects.bulk_update(changed, [*LINK_FIELDS, "target_id"])
        if fresh:
            RelatedLink.objects.bulk_insert(fresh)

    def finish(self):
        """Write what is pending, then give dangling related links the targets that exist now.

        Links are written with their article, resolved against the articles known at that
        moment; a link to an article written later (in this run or a later one) is
        resolved here. The update goes through a temporary table: one statement whatever
        the number of links.
        """
        self.flush()
        resolved, linking = [], set()
        dangling = RelatedLink.objects.filter(target__isnull=True)
        for pk, article_id, url in dangling.values_list("pk", "article_id", "url"):
            target_id = self.resolve(url)
            if target_id is not None:
                resolved.append((pk, target_id))
                linking.add(article_id)
        if resolved:
            with wide_change(len(linking)):
                _set_link_targets(resolved)
                changes.links_resolved(linking)
        self.report.resolved_links = len(resolved)
        self.report.dangling_links = RelatedLink.objects.filter(target__isnull=True).count()

    def resolve(self, url):
        match = URL_RE.match(url.split("?")[0].split("#")[0].rstrip("/"))
        if not match:
            return None
        return self.addresses.get((match["subject"], match["slug"]))


def _set_link_targets(pairs):
    """Set ``target_id`` on many related links: ``pairs`` is ``[(link_pk, target_pk)]``."""
    table = RelatedLink._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE import_link_targets "
            "(link_id bigint PRIMARY KEY, target_id bigint NOT NULL)"
        )
        try:
            cursor.executemany("INSERT INTO import_link_targets VALUES (%s, %s)", pairs)
            cursor.execute(
                f"UPDATE {table} SET target_id = (SELECT t.target_id FROM import_link_targets t "
                f"WHERE t.link_id = {table}.id) "
                f"WHERE id IN (SELECT link_id FROM import_link_targets)"
            )
        finally:
            cursor.execute("DROP TABLE import_link_targets")
