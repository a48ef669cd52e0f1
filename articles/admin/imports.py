"""The import pages of the admin: upload .md files or a .zip, read the dry run's report,
confirm or cancel, follow a background import's progress. Thin: the work is
articles.importing.uploads (the command's import_paths underneath); this module checks
permissions and sizes, and shows rows. One permission rules it: "can import articles".
"""

import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, TooManyFilesSent
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django_tasks import TaskResultStatus, default_task_backend
from django_tasks.exceptions import TaskResultDoesNotExist

from articles import tasks
from articles.frontmatter import MAX_FILE_BYTES, FrontMatterError
from articles.importing import uploads
from articles.importing.files import check_archive
from articles.models import ArticleImport

PERMISSION = "articles.import_articles"
#: What the page takes: front matter Markdown files, or a .zip of them.
SUFFIXES = (".md", ".zip")
#: Seconds between two reloads of a running import's page.
REFRESH_SECONDS = 2


def upload_limit():
    return settings.IMPORT_UPLOAD_MAX_BYTES


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Streams each uploaded file to a temporary file, skipping (and noting in
    ``refused``) a file of another kind or one past its limit as soon as it is: a .md file
    past MAX_FILE_BYTES, a .zip past the upload limit. The request as a whole was checked
    from its Content-Length before any of it was read."""

    def __init__(self, request=None):
        super().__init__(request)
        self.refused = []

    def new_file(self, field_name, file_name, *args, **kwargs):
        name = Path(file_name).name
        self.received = 0
        self.limit = MAX_FILE_BYTES if name.lower().endswith(".md") else upload_limit()
        if not name.lower().endswith(SUFFIXES):
            self.refused.append(f"{name}: not a .md file or a .zip archive")
            raise SkipFile
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.refused.append(
                f"{self.file_name}: larger than {self.limit:,} bytes (the limit for a "
                f"{'file' if self.limit == MAX_FILE_BYTES else 'upload'})"
            )
            self.file.close()
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ",".join(SUFFIXES)}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Files",
        required=False,
        help_text="Front matter Markdown files (.md), or one .zip of them (folders inside "
        "are searched). Nothing is written before you confirm the dry run's report.",
    )

    def __init__(self, *args, refused=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = list(refused)

    def clean_files(self):
        files = [item for item in self.cleaned_data["files"] if item]
        errors = list(self.refused)
        if not files and not errors:
            raise forms.ValidationError("Choose one or more .md files or a .zip.")
        for uploaded in files:
            if uploaded.name.lower().endswith(".zip"):
                # The whole-archive limits of the command, from the zip's directory alone:
                # an archive bomb is refused before anything is extracted.
                try:
                    check_archive(uploaded.temporary_file_path(), Path(uploaded.name).name)
                except FrontMatterError as error:
                    errors.append(str(error))
        if errors:
            raise forms.ValidationError(errors)
        return files


def job_failure(article_import):
    """Why the background job of a running import failed, from the task backend (a job
    that raised before it could mark its row); None while it runs or waits."""
    if not article_import.running or not article_import.task_id:
        return None
    try:
        result = default_task_backend.get_result(article_import.task_id)
    except TaskResultDoesNotExist:
        return None
    if result.status != TaskResultStatus.FAILED:
        return None
    if not result.errors:
        return "the job failed without saying why"
    error = result.errors[-1]
    last_line = error.traceback.strip().splitlines()[-1] if error.traceback else ""
    return last_line or error.exception_class_path


def job_result(article_import):
    """The background job's TaskResult, or None (inline, or unknown to the backend)."""
    if not article_import.task_id:
        return None
    try:
        return default_task_backend.get_result(article_import.task_id)
    except TaskResultDoesNotExist:
        return None


def stalled(article_import, result, note):
    """True when a running step's job has said nothing for uploads.STALE_SECONDS: its
    worker stopped mid-way (a job the backend no longer knows counts too, and so does a
    step that has no job and has not moved for as long)."""
    if not article_import.running:
        return False
    if not article_import.task_id:
        # Run in a request that never finished (a killed web worker), or never queued.
        return time.time() - article_import.updated.timestamp() > uploads.STALE_SECONDS
    if result is None:
        return True
    if result.status != TaskResultStatus.RUNNING or result.started_at is None:
        return False
    last = max(result.started_at.timestamp(), note["at"] if note else 0)
    return time.time() - last > uploads.STALE_SECONDS


class ArticleImportAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "summary", "created", "created_by")
    list_select_related = ("created_by",)
    list_filter = ("status",)
    list_per_page = 50

    # One permission for every page: "can import articles" (on Article).
    def has_module_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request):
        return request.user.has_perm(PERMISSION)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="report")
    def summary(self, article_import):
        report = article_import.apply_report or article_import.check_report
        if article_import.status == ArticleImport.Status.FAILED:
            return article_import.error
        return report["summary"] if report else "—"

    def get_urls(self):
        model_admin = self

        @csrf_exempt
        def upload(request):
            # CSRF is checked by the view itself, once its upload handler is in place.
            return model_admin.upload_view(request)

        def action(view):
            return self.admin_site.admin_view(require_POST(view))

        return [
            path("add/", self.admin_site.admin_view(upload), name="articles_articleimport_add"),
            path(
                "<int:pk>/confirm/",
                action(self.confirm_view),
                name="articles_articleimport_confirm",
            ),
            path(
                "<int:pk>/cancel/", action(self.cancel_view), name="articles_articleimport_cancel"
            ),
            path(
                "<int:pk>/run-again/",
                action(self.run_again_view),
                name="articles_articleimport_run_again",
            ),
            path(
                "<int:pk>/change/",
                self.admin_site.admin_view(self.report_view),
                name="articles_articleimport_change",
            ),
            *super().get_urls(),
        ]

    def _context(self, request, **context):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "has_view_permission": True,
            **context,
        }

    def upload_view(self, request):
        """GET: the upload form. POST: check the request's size from its Content-Length
        before reading any of it, stream the files with BoundedUploadHandler, check them
        (and a zip's directory), save them and start the dry run."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > upload_limit():
                return self._upload_page(
                    request,
                    UploadForm(),
                    status=413,
                    refusal=f"The upload is {length:,} bytes; the limit is {upload_limit():,}. "
                    "Split it into several uploads.",
                )
            handler = BoundedUploadHandler(request)
            request.upload_handlers = [handler]
            try:
                request.FILES  # noqa: B018 (read the body now, through the handler)
            except TooManyFilesSent:
                return self._upload_page(
                    request,
                    UploadForm(),
                    status=400,
                    refusal=f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files in one "
                    "upload: put more in a .zip.",
                )
            return csrf_protect(self._receive_upload)(request, handler)
        return self._upload_page(request, UploadForm())

    def _receive_upload(self, request, handler):
        form = UploadForm(request.POST, request.FILES, refused=handler.refused)
        if not form.is_valid():
            return self._upload_page(request, form, status=400)
        article_import = uploads.create(form.cleaned_data["files"], request.user)
        tasks.start(article_import, "check")
        return redirect(article_import.get_absolute_url())

    def _upload_page(self, request, form, status=200, refusal=""):
        context = self._context(
            request,
            title="Import articles",
            form=form,
            refusal=refusal,
            limit=upload_limit(),
            file_limit=MAX_FILE_BYTES,
            recent=ArticleImport.objects.select_related("created_by")[:10],
        )
        return TemplateResponse(
            request, "admin/articles/articleimport/upload.html", context, status=status
        )

    def report_view(self, request, pk):
        """An upload's page: the progress of a running step (reloading itself), the dry
        run's report with Confirm and Cancel, or the import's report; a failure says why."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        article_import = get_object_or_404(ArticleImport.objects.select_related(), pk=pk)
        failure = job_failure(article_import)
        if failure:
            ArticleImport.objects.filter(pk=pk, status=article_import.status).update(
                status=ArticleImport.Status.FAILED, error=failure
            )
            article_import.refresh_from_db()
        check, applied = article_import.check_report, article_import.apply_report
        new_conflicts = []
        if check and applied:
            # Conflicts the dry run did not have: editors' saves made before the confirm.
            seen = set(check["conflicts"])
            new_conflicts = [message for message in applied["conflicts"] if message not in seen]
        note = uploads.progress(article_import)
        result = job_result(article_import) if article_import.running else None
        context = self._context(
            request,
            title=str(article_import),
            article_import=article_import,
            report=applied or check,
            check_report=check,
            new_conflicts=new_conflicts,
            progress=note,
            share=(note["done"] * 100 // max(note["total"], 1)) if note else None,
            job_status=result.status if result else None,
            stalled=stalled(article_import, result, note),
            refresh=REFRESH_SECONDS if article_import.running else None,
            Status=ArticleImport.Status,
        )
        return TemplateResponse(request, "admin/articles/articleimport/report.html", context)

    def confirm_view(self, request, pk):
        if not self.has_add_permission(request):
            raise PermissionDenied
        article_import = get_object_or_404(ArticleImport, pk=pk)
        if tasks.confirm(article_import, request.user):
            article_import.refresh_from_db()
            if article_import.status == ArticleImport.Status.APPLIED:
                messages.success(request, "Imported: " + article_import.apply_report["summary"])
        else:
            messages.warning(request, "This import is no longer waiting for confirmation.")
        return redirect(article_import.get_absolute_url())

    def run_again_view(self, request, pk):
        if not self.has_add_permission(request):
            raise PermissionDenied
        article_import = get_object_or_404(ArticleImport, pk=pk)
        if tasks.run_again(article_import):
            messages.info(request, "Queued again; a worker will pick it up.")
        return redirect(article_import.get_absolute_url())

    def cancel_view(self, request, pk):
        if not self.has_add_permission(request):
            raise PermissionDenied
        article_import = get_object_or_404(ArticleImport, pk=pk)
        if uploads.cancel(article_import):
            messages.info(request, "Cancelled; the uploaded files are deleted.")
        else:
            messages.warning(
                request, "This import is already being applied; it cannot be cancelled."
            )
        return redirect(reverse("admin:articles_articleimport_changelist"))
