"""The image library in the admin: upload (checked and decoded by articles.images), search
by alt text and file name, thumbnails, and the Markdown to paste into an answer.

The file of an image is set once, at upload; later changes are to its alt text only.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from articles import images
from articles.models import Image
from articles.rendering.images import parse_name

THUMBNAIL_WIDTH = 96  # px, in the list


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
    list_display = ("thumbnail", "alt_text", "file_name", "size", "uploaded_at", "uploaded_by")
    list_display_links = ("thumbnail", "alt_text")
    list_select_related = ("uploaded_by",)
    search_fields = ("alt_text", "file")
    readonly_fields = ("preview", "markdown", "size", "uploaded_by", "uploaded_at")
    list_per_page = 50

    class Media:
        css = {"all": ("css/admin_images.css",)}

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
        super().save_model(request, obj, form, change)

    @admin.display(description="Image")
    def thumbnail(self, obj):
        own = parse_name(obj.file.name)
        name = obj.file.name
        if own is not None and own.rendition_widths:
            name = own.rendition_name(own.rendition_widths[0])
        height = max(1, round(obj.height * THUMBNAIL_WIDTH / obj.width)) if obj.width else ""
        return format_html(
            '<img src="{}" alt="" width="{}" height="{}" loading="lazy" class="image-thumbnail">',
            obj.file.storage.url(name),
            THUMBNAIL_WIDTH,
            height,
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
            obj.file.url,
            obj.alt_text,
            obj.width,
            obj.height,
        )

    @admin.display(description="Markdown to paste into an answer")
    def markdown(self, obj):
        return format_html('<code class="image-markdown">{}</code>', obj.markdown)
