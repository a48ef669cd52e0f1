"""Articles -> front matter files in the corpus format: the way back out of the database.

Writes the same keys in the same order and with the same types as the file an article
came from (kept at import), answers re-encoded with backslash-n, related links as
``related_articleN`` maps, unknown keys and the body as they were, and the site's images
the answers show under ``uploads/`` beside them (as the editors' CMS exported them). No
rendering here (the images an answer shows are read by articles.rendering).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from django.core.files.storage import default_storage
from django.utils.text import slugify

from articles import newlines
from articles.frontmatter import (
    KNOWN_KEYS,
    SEO_KEYS,
    FrontMatterLoader,
    split_front_matter,
    typed_values,
)
from articles.rendering import image_references

try:
    _BaseDumper = yaml.CSafeDumper
except AttributeError:  # PyYAML built without libyaml
    _BaseDumper = yaml.SafeDumper


class Folded(str):
    """Text the corpus writes as a folded block scalar (``>-``)."""


class _Dumper(_BaseDumper):
    """Safe dumper writing Folded text as ``>-`` blocks, as the editors' CMS does.

    PyYAML falls back to a quoted style by itself where a block cannot hold the text
    (leading spaces, control characters), so every string loads back unchanged.
    """

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


_Dumper.add_representer(
    Folded,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style=">"),
)

#: Keys written as folded blocks (as the corpus writes them).
FOLDED_KEYS = {"title", "article_title", "question", "answer", "page_description", "page_keywords"}


#: Optional keys and the value an article holds when its file had none.
OPTIONAL_DEFAULTS = {
    "article_title": "",
    "author": "",
    "date_format": "MMM DD, YYYY",
    "post_on_text": "Posted on",
    "no_index": False,
}


def _subject_name(article):
    # The file's spelling, unless an editor moved the article to another subject since.
    if article.subject_name and slugify(article.subject_name) == article.subject.slug:
        return article.subject_name
    return article.subject.title


def front_matter(article, links=None):
    """The front matter map of ``article`` (an Article with its subject), keys in order.

    ``links``: its RelatedLink rows (default: ``article.related_links.all()``).
    Returns a dict whose values are str, Folded, int, float, bool, date or dict.
    """
    links = sorted(
        article.related_links.all() if links is None else links, key=lambda link: link.position
    )
    # Extra front matter never overrides what the article's own fields hold (the admin
    # refuses such keys; rows written before that are cleaned here).
    extra = dict(article.extra_front_matter or {})
    seo_extra = extra.pop("seo", {}) if isinstance(extra.get("seo"), dict) else {}
    extra = {key: value for key, value in extra.items() if key not in KNOWN_KEYS}
    seo_extra = {key: value for key, value in seo_extra.items() if key not in SEO_KEYS}
    values = {
        "id": article.source_id,
        "date": article.date,
        "title": Folded(article.title),
        "article_title": Folded(article.article_title),
        "date_format": article.date_format,
        "post_on_text": article.post_on_text,
        "seo": {
            "title": article.seo_title,
            "page_description": Folded(article.seo_description),
            "page_keywords": Folded(article.seo_keywords),
            **seo_extra,
        },
        "author": article.author,
        "question": Folded(article.question),
        "answer": Folded(newlines.encode_answer(article.answer)),
        "subject": _subject_name(article),
        # The export writes the file as <slug>.md, so the key names that file (in the
        # corpus file_name always equals the slug plus .md).
        "file_name": f"{article.slug}.md",
        "url": article.get_absolute_url(),
        "score": article.score,
    }
    for link in links:
        values[f"related_article{link.position}"] = {
            "id": link.source_id,
            "title": Folded(link.title),
            "subject": link.subject_name,
            "url": link.url,
        }
    if article.no_index:
        values["no_index"] = True
    values.update(extra)
    order = list(article.front_matter_keys or [])
    # An article made in the admin has no remembered order: use the corpus's.
    if not order:
        order = ["_schema", *KNOWN_KEYS]
        values.setdefault("_schema", "default")
    present = [key for key in order if key in values]
    present += [key for key in values if key not in present]
    result = {}
    for key in present:
        value = values[key]
        if value is None and key not in order:
            continue
        if key == "seo" and key not in order and not any(value.values()):
            continue
        if key not in order and value == OPTIONAL_DEFAULTS.get(key, object()):
            # The file had no such key and the article holds its default: write none.
            continue
        if key == "id" and value is None:
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if not (k == "id" and v is None)}
        result[key] = value
    return result


def to_text(article, links=None):
    """One article as the text of its front matter file: YAML between ``---`` lines, then
    the body."""
    data = front_matter(article, links)
    yaml_text = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=2**30, indent=4
    )
    body = article.body if article.body else "\n&nbsp;"
    return f"---\n{yaml_text}---\n{body}"


#: The folder of an export (and of an import) that holds the images the answers show.
UPLOADS = "uploads"


def export_articles(queryset, outdir, storage=None):
    """Write each article of ``queryset`` to ``outdir/<subject>/<slug>.md``, and each of the
    site's images its answer shows (the original and its renditions) to
    ``outdir/uploads/<storage name>``, e.g. ``uploads/images/<key>-1200x800-webp/a.png``:
    the address in the answer names the same file again after an import.

    Returns the number of article files written (images not counted). An image the
    storage (default: the default storage) does not hold is skipped: the answer's save
    refused it, so only an image deleted since can be missing. Raises OSError when
    ``outdir`` cannot be written.
    """
    outdir = Path(outdir)
    storage = storage or default_storage
    written = 0
    shown = set()
    queryset = queryset.select_related("subject").prefetch_related("related_links")
    for article in queryset.iterator(chunk_size=1000):
        folder = outdir / article.subject.slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{article.slug}.md").write_text(to_text(article), encoding="utf-8")
        written += 1
        shown.update(ref.own for ref in image_references(article.answer) if ref.own)
    for own in sorted(shown, key=lambda own: own.name):
        names = [own.name, *(own.rendition_name(width) for width in own.rendition_widths)]
        for name in names:
            if not storage.exists(name):
                continue
            target = outdir / UPLOADS / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with storage.open(name, "rb") as source:
                target.write_bytes(source.read())
    return written


def load_front_matter(text):
    """The front matter map of a file's text, typed keys as values (for comparing files)."""
    yaml_text, _, _ = split_front_matter(text)
    return typed_values(yaml.load(yaml_text, Loader=FrontMatterLoader) or {})


def compare_with_sources(queryset):
    """Compare each article's export with the file it was imported from.

    Only articles not edited since their import and whose source file still exists are
    compared. Returns ``(compared, mismatches)`` where mismatches is a list of
    ``(source_path, key)`` naming the first key that differs.
    """
    compared, mismatches = 0, []
    queryset = queryset.select_related("subject").prefetch_related("related_links")
    for article in queryset.exclude(source_path="").iterator(chunk_size=1000):
        if article.edited_since_import:
            continue
        source = Path(article.source_path)
        if not source.is_file():
            continue
        compared += 1
        expected = load_front_matter(source.read_text(encoding="utf-8-sig"))
        actual = load_front_matter(to_text(article))
        if expected != actual:
            keys = sorted(set(expected) | set(actual))
            key = next(k for k in keys if expected.get(k) != actual.get(k))
            mismatches.append((article.source_path, key))
    return compared, mismatches
