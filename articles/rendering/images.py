"""The site's own images in answers: their address scheme, and the `<img>` they render as.

Owns the naming rule that lets an image's address carry its size and renditions, so the
renderer stays a pure function of the Markdown. Must not touch the database or storage, nor
decode pictures (that is articles.images).

An image is stored as ``images/<key>-<W>x<H>[-<ext>]/<stem>.<original ext>``: ``W`` and
``H`` are its width and height in pixels, ``-<ext>`` (present when renditions were made)
the format of its renditions, each stored beside it as ``<stem>-<width>w.<ext>``, one for
each of RENDITION_WIDTHS narrower than ``W`` (never upscaled).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote

from django.conf import settings

#: Widths (px) of the renditions (articles.images), for `srcset`: a phone, a laptop, a wide
#: screen at 1.5x. Renditions as wide as the original or wider are not made.
RENDITION_WIDTHS = (480, 960, 1440)
#: Formats an upload may be in (Pillow's names) and the extension each is stored with.
EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
#: The folder under MEDIA_ROOT (and MEDIA_URL) that holds the images.
FOLDER = "images"
#: The widest and tallest image accepted, in pixels (the name allows five digits).
MAX_SIDE = 99_999

_NAME = re.compile(
    rf"{FOLDER}/(?P<key>[0-9a-f]{{12}})-(?P<width>[1-9][0-9]{{0,4}})x(?P<height>[1-9][0-9]{{0,4}})"
    # A stem never ends like a rendition's (`-480w`), so no rendition passes for an original.
    r"(?:-(?P<rext>png|jpg|webp))?/(?P<stem>(?![a-z0-9_-]*-[0-9]+w\.)[a-z0-9][a-z0-9_-]{0,79})"
    r"\.(?P<ext>png|jpg|webp|gif)"
)
_FULL_NAME = re.compile(rf"{_NAME.pattern}\Z")
# cmark-gfm writes an image as exactly this, attributes escaped.
_CMARK_IMG = re.compile(r'<img src="([^"]*)" alt="([^"]*)"(?: title="([^"]*)")? />')


def media_url(name: str) -> str:
    """The site's address of the stored file ``name`` (MEDIA_URL and the name), whatever
    the storage: pages and answers hold it, and object storage's own URLs are signed and
    expire. The proxy serves it."""
    return settings.MEDIA_URL + name


@dataclass(frozen=True)
class OwnImage:
    """An image of this site's, read from its stored name (no lookup)."""

    name: str  # the storage name of the original, e.g. images/0123456789ab-1200x800/a.png
    width: int
    height: int
    rendition_ext: str | None  # the renditions' format, None when none were made

    @property
    def url(self) -> str:
        return media_url(self.name)

    @property
    def rendition_widths(self) -> tuple[int, ...]:
        if self.rendition_ext is None:
            return ()
        return tuple(w for w in RENDITION_WIDTHS if w < self.width)

    def rendition_name(self, width: int) -> str:
        """The storage name of the rendition ``width`` px wide."""
        folder, _, file_name = self.name.rpartition("/")
        stem = file_name.rpartition(".")[0]
        return f"{folder}/{stem}-{width}w.{self.rendition_ext}"

    def rendition_height(self, width: int) -> int:
        return max(1, round(self.height * width / self.width))


def image_name(key: str, width: int, height: int, rendition_ext: str | None, stem: str, ext: str):
    """The storage name for an original (see the module's docstring); raises ValueError
    when the parts do not fit the scheme."""
    suffix = f"-{rendition_ext}" if rendition_ext else ""
    name = f"{FOLDER}/{key}-{width}x{height}{suffix}/{stem}.{ext}"
    if not _FULL_NAME.match(name):
        raise ValueError(f"not an image name: {name!r}")
    return name


def parse_name(name: str) -> OwnImage | None:
    """A storage name -> OwnImage, or None when it is not an original's name."""
    m = _FULL_NAME.match(name)
    if m is None:
        return None
    return OwnImage(m.group(), int(m["width"]), int(m["height"]), m["rext"])


def own_image(src: str) -> OwnImage | None:
    """An image address as written in Markdown (or in an attribute, entities escaped) ->
    the OwnImage it names, or None when it is not one of this site's image addresses
    (another host, another folder, a rendition, anything else)."""
    url = unquote(html.unescape(src)).strip()
    own_prefix = settings.SITE_URL + settings.MEDIA_URL
    if url.startswith(own_prefix):
        url = url[len(settings.SITE_URL) :]
    if not url.startswith(settings.MEDIA_URL):
        return None
    return parse_name(url[len(settings.MEDIA_URL) :])


@dataclass(frozen=True)
class ImageReference:
    """One `![alt](src)` of an answer: src and alt as written (entities decoded)."""

    src: str
    alt: str
    own: OwnImage | None


def references(markup: str) -> list[ImageReference]:
    """The images of the engine's (cmark-gfm's) HTML, in order."""
    return [
        ImageReference(html.unescape(src), html.unescape(alt), own_image(src))
        for src, alt, _ in _CMARK_IMG.findall(markup)
    ]


def _img(own: OwnImage, alt: str, title: str | None) -> str:
    media = settings.MEDIA_URL
    widths = own.rendition_widths
    candidates = [f"{media}{own.rendition_name(w)} {w}w" for w in widths]
    candidates.append(f"{own.url} {own.width}w")
    srcset = html.escape(", ".join(candidates))
    # Shown at most at its own width, and never wider than the column.
    sizes = f"(max-width: {own.width}px) 100vw, {own.width}px"
    title_attr = f' title="{title}"' if title else ""
    return (
        f'<img src="{html.escape(own.url)}" alt="{alt}"{title_attr} width="{own.width}" '
        f'height="{own.height}" srcset="{srcset}" sizes="{sizes}" loading="lazy" '
        f'decoding="async" />'
    )


def rewrite(markup: str) -> str:
    """The engine's HTML with each image of this site's made responsive (width, height,
    srcset, sizes, lazy loading) and every other image removed: save and import refuse
    those (see ``references``), so only answers stored before that can hold one."""

    def replace(m: re.Match) -> str:
        own = own_image(m.group(1))
        return _img(own, m.group(2), m.group(3)) if own is not None else ""

    return _CMARK_IMG.sub(replace, markup)


def is_own_image_attribute(tag: str, attribute: str, value: str) -> bool:
    """For the sanitiser: False for an `<img>`'s src or srcset that names anything but
    this site's images (and their renditions)."""
    if tag != "img" or attribute not in ("src", "srcset"):
        return True
    if attribute == "src":
        return own_image(value) is not None
    prefix = settings.MEDIA_URL + FOLDER + "/"
    return all(
        candidate.strip().startswith(prefix) and ".." not in candidate
        for candidate in value.split(",")
    )
