"""Widgets of the article form: the answer editor with its live preview pane and its
"Insert image" picker, and text inputs that count characters against the SEO limits
defined here.

Widgets only display (the preview through articles.rendering); validation is the forms' job.
"""

from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from articles import rendering

#: Meta description length search engines show before cutting it off (Google's snippet
#: is about 155-160 characters on desktop); the article model's help text says the same.
SEO_DESCRIPTION_LIMIT = 160
#: Title length shown in search results before it is cut (about 60 characters).
SEO_TITLE_LIMIT = 60
#: The phone preview's width: the CSS width of common phones (360-390 px).
PHONE_WIDTH_PX = 375


class AnswerEditor(forms.Textarea):
    """The answer's textarea with its preview pane beside it.

    The pane starts with the stored HTML (or the submitted text rendered, when the form
    comes back with errors); static/js/admin_preview.js keeps it up to date while typing.
    A checkbox (no name: never submitted) narrows the pane to a phone's width, by CSS
    alone.

    With ``image_picker`` set (the admin sets it for those who may view the image library)
    a link to the library (whose list shows each image's Markdown to copy) sits above the
    textarea, and an "Insert image" button that static/js/admin_image_picker.js shows:
    it opens a dialog searching the library and inserts the chosen image's Markdown at
    the cursor.
    """

    class Media:
        css = {"all": ("css/admin.css", "css/highlight.css")}
        js = ("js/admin_preview.js", "js/admin_image_picker.js")

    def __init__(self, attrs=None):
        super().__init__({"rows": 24, "class": "answer-editor__source", **(attrs or {})})
        self.rendered_source = None
        self.rendered_html = ""
        self.image_picker = False

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**(attrs or {})}
        pane_id = f"{attrs.get('id', 'id_' + name)}_preview"
        attrs.update(
            {
                "data-preview-url": reverse("admin:articles_article_preview"),
                "data-preview-pane": pane_id,
            }
        )
        source = value or ""
        if source == self.rendered_source:
            html = self.rendered_html
        else:
            html = rendering.render_markdown(source).html if source else ""
        textarea = super().render(name, value, attrs, renderer)
        if self.image_picker:
            textarea = self.image_toolbar(attrs.get("id", "id_" + name)) + textarea
        return format_html(
            '<div class="answer-editor"><div class="answer-editor__source-column">{}</div>'
            '<section class="answer-editor__preview" aria-labelledby="{}_heading">'
            '<h3 id="{}_heading">Preview <span class="answer-editor__status" '
            'aria-live="polite"></span>'
            '<label class="answer-editor__width"><input type="checkbox" id="{}_phone" '
            'class="answer-editor__phone"> Phone width ({} px)</label></h3>'
            '<div class="answer answer-editor__pane" id="{}">{}</div></section></div>',
            textarea,
            pane_id,
            pane_id,
            pane_id,
            PHONE_WIDTH_PX,
            pane_id,
            mark_safe(html),  # sanitised by articles.rendering, like the stored answer_html
        )

    @staticmethod
    def image_toolbar(textarea_id):
        """The "Insert image" button (hidden until the script shows it), the link to the
        library, and the picker's dialog, for the textarea ``textarea_id``."""
        dialog_id = f"{textarea_id}_images"
        return format_html(
            '<div class="answer-editor__toolbar">'
            '<button type="button" class="button answer-editor__insert-image" '
            'aria-haspopup="dialog" aria-controls="{}" hidden>Insert image</button> '
            '<a href="{}" target="_blank" rel="noopener">Image library</a>'
            '<span class="answer-editor__hint"> (each image\'s Markdown to copy)</span></div>'
            '<dialog class="image-picker" id="{}" aria-labelledby="{}_heading" '
            'data-picker-url="{}" data-target="{}">'
            '<h2 id="{}_heading">Insert an image</h2>'
            '<label for="{}_q">Search by alt text or file name</label> '
            '<input type="search" id="{}_q" class="image-picker__search vTextField" '
            'autocomplete="off" aria-describedby="{}_help">'
            '<p class="help" id="{}_help">Down arrow to reach the images, Enter to insert '
            "one at the cursor, Escape to close.</p>"
            '<div class="image-picker__results" aria-live="polite"></div>'
            '<p class="image-picker__footer"><span><a href="{}" target="_blank" '
            'rel="noopener">Upload a new image</a> (then search again)</span> '
            '<button type="button" class="button image-picker__close">Cancel</button></p>'
            "</dialog>",
            dialog_id,
            reverse("admin:articles_image_changelist"),
            dialog_id,
            dialog_id,
            reverse("admin:articles_image_picker"),
            textarea_id,
            dialog_id,
            dialog_id,
            dialog_id,
            dialog_id,
            dialog_id,
            reverse("admin:articles_image_add"),
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
