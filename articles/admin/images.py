"""The image library in the admin: upload (checked and decoded by articles.images), search
by alt text and file name, thumbnails, the Markdown to paste into an answer (in the list
too, to copy without JavaScript), and the picker the answer editor's "Insert image" opens.

The file of an image is set once, at upload; later changes are to its alt text only.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from articles import images, tasks
from articles.models import Image
from articles.rendering.images import media_url, parse_name

THUMBNAIL_WIDTH = 96  # px, in the list
#: The most images the picker lists for one search (newest first): past that, type more.
PICKER_LIMIT = 24
#: The longest search the picker reads (characters); the rest is ignored.
PICKER_QUERY_CHARS = 100


def thumbnail_url(image):
    """The address of ``image``'s narrowest rendition, or of the original when it has none
    (or not yet: its background job has not run)."""
    own = parse_name(image.file.name)
    name = image.file.name
    if own is not None and own.rendition_widths and image.renditions_ready:
        name = own.rendition_name(own.rendition_widths[0])
    return media_url(name)


def thumbnail_height(image):
    """The height (px) of ``image`` shown THUMBNAIL_WIDTH px wide; "" when unknown."""
    return max(1, round(image.height * THUMBNAIL_WIDTH / image.width)) if image.width else ""


def search_library(queryset, query):
    """The images of ``queryset`` whose alt text or file name holds every word of ``query``
    (case-insensitive; at most PICKER_QUERY_CHARS characters read), newest first."""
    for word in query[:PICKER_QUERY_CHARS].split():
        queryset = queryset.filter(Q(alt_text__icontains=word) | Q(file__icontains=word))
    return queryset.order_by("-uploaded_at", "-pk")


def image_picker(request, model_admin):
    """GET ?q=words -> an HTML fragment listing at most PICKER_LIMIT images of the library
    matching the words (search_library), each a button carrying its Markdown in
    ``data-markdown`` (static/js/admin_image_picker.js inserts it into the answer).

    Raises PermissionDenied for a user without the image view permission; the caller wraps
    it in ``admin_site.admin_view`` (staff only)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()
    found = list(search_library(Image.objects.all(), query)[: PICKER_LIMIT + 1])
    choices = [
        {
            "image": image,
            "thumbnail": thumbnail_url(image),
            "thumbnail_height": thumbnail_height(image),
            "file_name": image.file.name.rpartition("/")[2],
        }
        for image in found[:PICKER_LIMIT]
    ]
    context = {
        "choices": choices,
        "query": query,
        "more": len(found) > PICKER_LIMIT,
        "limit": PICKER_LIMIT,
        "thumbnail_width": THUMBNAIL_WIDTH,
    }
    return TemplateResponse(request, "admin/articles/image/picker.html", context)


class ImageAdminForm(forms.ModelForm):
    class Meta:
        model = Image
        fields = ("file", "alt_text")
        widgets = {
            "file": forms.ClearableFileInput(
                attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}
            ),
            "alt_text": forms.TextInput(attrs={"class": "vTextField"}),
        }

    checked = None  # the CheckedImage of a new upload, once clean

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if self.instance.pk or upload is None:
            return upload
        try:
            self.checked = images.check_upload(upload)
        except images.ImageRefused as error:
            raise ValidationError(str(error)) from None
        return upload

    def clean_alt_text(self):
        alt = " ".join(self.cleaned_data["alt_text"].split())
        if not alt:
            raise ValidationError(
                "Describe what the picture shows; readers who cannot see it rely on it."
            )
        return alt


class ImageAdmin(admin.ModelAdmin):
    form = ImageAdminForm
    list_display = (
        "thumbnail",
        "alt_text",
        "markdown",
        "file_name",
        "size",
        "uploaded_at",
        "uploaded_by",
    )
    list_display_links = ("thumbnail", "alt_text")
    list_select_related = ("uploaded_by",)
    search_fields = ("alt_text", "file")
    readonly_fields = ("preview", "markdown", "size", "uploaded_by", "uploaded_at")
    list_per_page = 50

    class Media:
        css = {"all": ("css/admin_images.css",)}

    def get_urls(self):
        picker = path(
            "picker/",
            self.admin_site.admin_view(self.picker_view),
            name="articles_image_picker",
        )
        return [picker, *super().get_urls()]

    def picker_view(self, request):
        return image_picker(request, self)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("file", "alt_text")
        return ("preview", "markdown", "alt_text", "size", "uploaded_by", "uploaded_at")

    def save_model(self, request, obj, form, change):
        if not change:
            checked = form.checked
            # A name, not the upload: the file is stored already, by images.store.
            obj.file = images.store(checked)
            obj.width, obj.height = checked.width, checked.height
            obj.uploaded_by = request.user
            obj.renditions_ready = not parse_name(obj.file.name).rendition_widths
        super().save_model(request, obj, form, change)
        if not change and not obj.renditions_ready:
            # Queued once the row is committed, so a worker on another connection finds it.
            pk = obj.pk
            transaction.on_commit(lambda: tasks.make_image_renditions.enqueue(pk))

    @admin.display(description="Image")
    def thumbnail(self, obj):
        return format_html(
            '<img src="{}" alt="" width="{}" height="{}" loading="lazy" class="image-thumbnail">',
            thumbnail_url(obj),
            THUMBNAIL_WIDTH,
            thumbnail_height(obj),
        )

    @admin.display(description="File", ordering="file")
    def file_name(self, obj):
        return obj.file.name.rpartition("/")[2]

    @admin.display(description="Size (px)")
    def size(self, obj):
        return f"{obj.width} × {obj.height}"

    @admin.display(description="Image")
    def preview(self, obj):
        return format_html(
            '<img src="{}" alt="{}" width="{}" height="{}" class="image-preview">',
            obj.get_absolute_url(),
            obj.alt_text,
            obj.width,
            obj.height,
        )

    @admin.display(description="Markdown to paste into an answer")
    def markdown(self, obj):
        return format_html('<code class="image-markdown">{}</code>', obj.markdown)
