"""The admin's forms: the article form, related links (inline and on their own page) and
the subject chosen for the move-to-subject bulk action.

Forms validate and shape what editors submit; saving, history and redirects are left to
the ModelAdmins and Article.save().
"""

from dataclasses import dataclass
from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from articles.admin.conflicts import find_conflict
from articles.admin.widgets import (
    SEO_DESCRIPTION_LIMIT,
    SEO_TITLE_LIMIT,
    AnswerEditor,
    CountedTextarea,
    CountedTextInput,
)
from articles.frontmatter import KNOWN_KEYS, MAX_ANSWER_CHARS, SEO_KEYS
from articles.images import missing_images
from articles.models import Article, RelatedLink, Subject
from articles.rendering import MAX_NESTING_DEPTH, nesting_depth, refused_images


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
    #: Fields that hold the question unless an editor sets them apart (in the corpus all
    #: three are equal in every file).
    TITLES = ("title", "article_title")

    #: The article's version when the form was opened: a save over a newer one is refused.
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Article
        fields = "__all__"  # noqa: DJ007 - ArticleAdmin's fieldsets choose what is shown
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
            "question": "Shown as the page's heading; also the title and article title "
            "unless they are set apart under Titles.",
            "title": "Follows the question; type another to set it apart.",
            "article_title": "Follows the question; type another to set it apart.",
            "slug": "The article's part of its address; follows the question until you "
            "edit it (made from the question when left empty). Unique in its subject.",
            "status": "Drafts are visible to staff only, with a banner; readers get 404.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in (*self.TITLES, "slug"):
            if name in self.fields:
                self.fields[name].required = False
        if self.instance.pk is None and "status" not in self.fields:
            # Someone who may not publish: the new article is a draft (the admin saves it
            # so), and the read-only status says so.
            self.instance.status = Article.Status.DRAFT
        self.fields["base_version"].initial = self.instance.version if self.instance.pk else None
        if "answer" in self.fields and self.instance.pk:
            editor = self.fields["answer"].widget
            editor.rendered_source = self.instance.answer
            editor.rendered_html = self.instance.answer_html

    def clean_extra_front_matter(self):
        extra = self.cleaned_data.get("extra_front_matter")
        if isinstance(extra, dict):
            owned = sorted(set(extra) & set(KNOWN_KEYS) - {"seo"})
            seo = extra.get("seo")
            if "seo" in extra and not isinstance(seo, dict):
                owned.append("seo")
            elif isinstance(seo, dict):
                owned += [f"seo.{key}" for key in sorted(set(seo) & set(SEO_KEYS))]
            if owned:
                raise ValidationError(
                    f"{', '.join(owned)}: the article's own fields hold "
                    f"{'these keys' if len(owned) > 1 else 'this key'}; edit them there, "
                    "and keep extra front matter for keys the site does not know."
                )
        elif extra not in (None, ""):
            raise ValidationError('Extra front matter is a JSON object: {"key": "value"}.')
        return extra

    def clean_answer(self):
        """Refuse an answer longer or nested deeper than the import accepts: such input is
        crafted, and no reader can follow it."""
        answer = self.cleaned_data["answer"]
        if len(answer or "") > MAX_ANSWER_CHARS:
            raise ValidationError(
                f"The answer is {len(answer):,} characters long; the limit is "
                f"{MAX_ANSWER_CHARS:,}. Split it into several articles."
            )
        depth = nesting_depth(answer or "")
        if depth > MAX_NESTING_DEPTH:
            raise ValidationError(
                f"The answer nests {depth} levels deep (lists, block quotes, brackets); "
                f"the limit is {MAX_NESTING_DEPTH}. Flatten it before saving."
            )
        problems = refused_images(answer or "") or missing_images(answer or "")
        if problems:
            raise ValidationError([f"The answer cannot be saved: {p}." for p in problems])
        return answer

    def clean(self):
        cleaned = super().clean()
        question = cleaned.get("question")
        if question:
            for name in self.TITLES:
                if name in self.fields and self._follows_question(name, cleaned.get(name)):
                    cleaned[name] = question
            if "slug" in self.fields and not cleaned.get("slug") and "slug" not in self.errors:
                cleaned["slug"] = self._free_slug(question, cleaned.get("subject"))
        opened_at = cleaned.get("base_version")
        conflict = find_conflict(self.instance, opened_at, cleaned)
        if conflict is not None:
            # Shown again, the form carries the version it was refused at: saving again
            # is the editor's decision, made after reading what changed.
            self.data = self.data.copy()
            self.data[self.add_prefix("base_version")] = str(conflict.current)
            raise ValidationError(conflict.message(), code="stale")
        self.instance.base_version = opened_at
        return cleaned

    def _follows_question(self, name, value):
        """True when the title ``name`` should take the question: it is empty, or it was
        equal to the question when the form was opened and the editor left it alone."""
        if not value:
            return True
        opened_with = self.initial.get(name)
        return name not in self.changed_data and opened_with == self.initial.get("question")

    def _free_slug(self, question, subject):
        """The question as a slug (what the admin's prepopulating script makes), with -2,
        -3, ... appended when another article of ``subject`` holds it. One query."""
        limit = Article._meta.get_field("slug").max_length
        base = slugify(question)[: limit - 4].strip("-")
        if not base:
            raise ValidationError(
                {"slug": "The question has no letters or digits to make a slug from; type one."}
            )
        if subject is None:
            return base
        taken = set(
            Article.objects.filter(subject=subject, slug__startswith=base)
            .exclude(pk=self.instance.pk)
            .values_list("slug", flat=True)
        )
        return next(
            slug
            for slug in (base, *(f"{base}-{n}" for n in range(2, len(taken) + 3)))
            if slug not in taken
        )


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
        help_texts = {
            "title": "Only for a link to a missing article: readers see the question of "
            "the article a link leads to."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "title" not in self.fields:
            return  # shown read-only (a live article's link, to someone who may not publish)
        self.fields["title"].required = False
        self.fields["target"].label = "leads to"
        if self.instance.target_id is not None:
            # The title follows the target: nothing to type that could drift from it.
            self.fields["title"].disabled = True

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
            # Kept for the export; readers see the target's question as it is then.
            cleaned["title"] = target.question
        elif not self.instance.url:
            raise ValidationError({"target": "Choose the article this link leads to."})
        elif not cleaned.get("title"):
            raise ValidationError({"title": "A link to a missing article needs a title."})
        return cleaned


#: The name of the inline's "Pin" buttons: the value is the suggested article's id.
PIN_SUGGESTION = "pin_suggestion"


@dataclass(frozen=True)
class Pin:
    """A suggestion to make a related link on save: ``target`` at ``position``, in place of
    the link ``replaces`` (one that leads nowhere readers can go) when no place was free."""

    target: Article
    position: int
    replaces: RelatedLink | None = None


class RelatedLinkFormSet(forms.BaseInlineFormSet):
    """The article's related links; also pins a suggested related question when the
    editor pressed its "Pin" button (the whole article form is saved with it, so the
    version it was opened at is checked as for any save)."""

    #: The Pin to save, set by clean(); None when no suggestion was pinned.
    pin = None
    #: False where the person may not change these links (a live article, for someone
    #: who may not publish): the inline is read-only there and pinning is refused.
    can_pin = True

    @cached_property
    def suggestions(self):
        """The article's stored suggestions readers may see, not linked already, best first
        (articles.related): shown under the links, each with a "Pin" button."""
        article = self.instance
        if article.pk is None:
            return []
        linked = article.related_links.exclude(target=None).values("target_id")
        return list(
            Article.objects.published()
            .filter(suggested_for__article=article)
            .exclude(pk__in=linked)
            .select_related("subject")
            .only("slug", "question", "subject__slug", "subject__title")
            .order_by("suggested_for__rank")
        )

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
        if self.data.get(PIN_SUGGESTION):
            if not self.can_pin:
                raise ValidationError(
                    "Only publishers change the related links of a published article: "
                    "ask one to pin this suggestion."
                )
            self.pin = self._pin(self.data[PIN_SUGGESTION], kept)

    def _pin(self, value, kept):
        """The Pin for the suggested article with id ``value``, given the links ``kept``.
        Raises ValidationError when it cannot be made."""
        target = None
        if str(value).isdigit():
            target = Article.objects.select_related("subject").filter(pk=int(value)).first()
        if target is None or target.pk == self.instance.pk:
            raise ValidationError("The suggested question to pin no longer exists.")
        if any(form.cleaned_data.get("target") == target for form in kept):
            raise ValidationError(f"“{target.question}” is a related question already.")
        taken = {form.cleaned_data.get("position") for form in kept}
        free = sorted(set(range(1, 6)) - taken)
        if free:
            return Pin(target, free[0])
        # No free place: the pinned question takes the place of the first link readers
        # cannot follow (its article is missing, a draft or scheduled).
        for form in sorted(kept, key=lambda form: form.cleaned_data.get("position") or 6):
            linked = form.cleaned_data.get("target")
            if form.instance.pk and (linked is None or not linked.is_published):
                return Pin(target, form.cleaned_data["position"], form.instance)
        raise ValidationError(
            "An article has at most five related links: remove one to pin a suggestion."
        )


class RelatedLinkAdminForm(RelatedLinkForm):
    """A link edited on its own page: there is no formset to give it a free position."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "position" in self.fields:
            self.fields["position"].required = True


class MoveToSubjectForm(forms.Form):
    """The intermediate page of the "move to another subject" bulk action."""

    subject = forms.ModelChoiceField(
        queryset=Subject.objects.all(),
        help_text=(
            "Each article's address changes to /learn/<new subject>/questions/<slug>; "
            "its old address keeps answering with a permanent redirect."
        ),
    )
