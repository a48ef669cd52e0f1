"""Uploaded images: check an upload (size, format, pixels), decode it once with Pillow, and
store it with its renditions through Django's storage API. Must not know Markdown; the
address scheme that names the stored files is articles.rendering.images.
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from dataclasses import dataclass

import PIL.Image
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.utils.text import slugify
from PIL import ImageOps, UnidentifiedImageError

from articles.models import Image
from articles.rendering import image_references
from articles.rendering.images import (
    EXTENSIONS,
    MAX_SIDE,
    RENDITION_WIDTHS,
    image_name,
    parse_name,
)

#: The largest file accepted, checked before it is read (bytes).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: The most pixels an image may have (width x height): 40 megapixels is a large camera
#: photo. A small file can claim far more (a "decompression bomb": a 20 kB PNG can decode
#: to gigabytes), so Pillow is told this bound too and the size is read before decoding.
MAX_PIXELS = 40_000_000
PIL.Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_ACCEPTED = "PNG, JPEG, WebP or GIF"
# Quality of lossy renditions (JPEG, and WebP made from a JPEG or a WebP); renditions of
# PNG and GIF (diagrams, line art) are lossless in WebP.
_QUALITY = 82


class ImageRefused(ValueError):
    """An upload that cannot become an image; the message says why, for the editor."""


@dataclass(frozen=True)
class CheckedImage:
    """An upload that passed the checks, decoded: its bytes as uploaded, and what was
    read from them."""

    data: bytes
    format: str  # Pillow's name: PNG, JPEG, WEBP or GIF
    width: int  # as shown (after the EXIF orientation), pixels
    height: int
    animated: bool
    stem: str  # the upload's name, made safe for an address


def _looks_like_svg(head: bytes, name: str) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return name.lower().endswith((".svg", ".svgz")) or text.startswith((b"<?xml", b"<svg"))


def check_upload(upload) -> CheckedImage:
    """A Django UploadedFile -> CheckedImage, or ImageRefused saying what is wrong.

    The size is checked before anything is read, SVG (which can carry scripts) is refused
    by name and content, and the pixel count is read from the header before the picture is
    decoded (at most MAX_PIXELS)."""
    name = upload.name or "image"
    size = upload.size
    if size is None or size > MAX_UPLOAD_BYTES:
        raise ImageRefused(
            f"The file is {size or 'of unknown size'} bytes; the limit is "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Save it smaller (fewer pixels, or "
            f"JPEG for photos) and upload it again."
        )
    upload.seek(0)
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRefused(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if _looks_like_svg(data[:256], name):
        raise ImageRefused(
            "SVG images are not accepted: they can carry scripts and links. Export the "
            "drawing as PNG (diagrams) or WebP and upload that."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            picture = PIL.Image.open(io.BytesIO(data), formats=list(EXTENSIONS))
            width, height = picture.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise PIL.Image.DecompressionBombError
            picture.load()
            shown = ImageOps.exif_transpose(picture)
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        raise ImageRefused(
            f"The image is too large to decode safely: at most {MAX_PIXELS:,} pixels "
            f"(width x height) and {MAX_SIDE:,} pixels a side. Scale it down and upload it "
            f"again."
        ) from None
    except UnidentifiedImageError:
        raise ImageRefused(
            f"This file is not a {_ACCEPTED} image. Save it in one of those formats."
        ) from None
    except (OSError, ValueError, SyntaxError) as error:  # Pillow's ways of saying "damaged"
        raise ImageRefused(f"The image cannot be read (damaged or cut short?): {error}") from None
    stem = slugify(name.rpartition(".")[0] or name)[:78].strip("-_") or "image"
    if re.search(r"-[0-9]+w\Z", stem):  # would read as a rendition's name
        stem += "-1"
    return CheckedImage(
        data=data,
        format=picture.format,
        width=shown.width,
        height=shown.height,
        animated=bool(getattr(picture, "is_animated", False)),
        stem=stem,
    )


def _encode(picture: PIL.Image.Image, format: str, lossless: bool) -> bytes:
    out = io.BytesIO()
    if format == "JPEG":
        picture.convert("RGB").save(out, "JPEG", quality=_QUALITY, optimize=True)
    elif format == "PNG":
        picture.save(out, "PNG", optimize=True)
    else:
        picture.save(out, "WEBP", lossless=lossless, quality=_QUALITY if not lossless else 80)
    return out.getvalue()


def _rendition_plan(checked: CheckedImage):
    """``(widths, own format, lossless)`` of ``checked``'s renditions (see make_renditions)."""
    widths = [w for w in RENDITION_WIDTHS if w < checked.width]
    if checked.animated:
        widths = []
    own_format = {"JPEG": "JPEG", "WEBP": "WEBP"}.get(checked.format, "PNG")
    return widths, own_format, checked.format in ("PNG", "GIF")


def _shown(checked: CheckedImage, picture):
    shown = ImageOps.exif_transpose(picture)
    if shown.mode not in ("RGB", "RGBA", "L", "LA"):
        has_alpha = "transparency" in shown.info or shown.mode in ("PA", "RGBa")
        shown = shown.convert("RGBA" if has_alpha else "RGB")
    return shown


def _resized(checked: CheckedImage, shown, width):
    height = max(1, round(checked.height * width / checked.width))
    return shown.resize((width, height), PIL.Image.Resampling.LANCZOS)


_OWN_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def rendition_extension(checked: CheckedImage) -> str | None:
    """The format the renditions of ``checked`` take ("webp", "jpg" or "png"), or None when
    none are made (an image no wider than the narrowest, or an animated GIF, whose frames
    are kept): WebP when the narrowest rendition is smaller in WebP than in the original's
    own format (PNG for a GIF). Cheap enough for an upload's request: one small rendition,
    encoded twice; the others are made later (make_renditions)."""
    widths, own_format, lossless = _rendition_plan(checked)
    if not widths:
        return None
    if own_format == "WEBP":
        return "webp"
    with PIL.Image.open(io.BytesIO(checked.data)) as picture:
        narrowest = _resized(checked, _shown(checked, picture), widths[0])
        own = _encode(narrowest, own_format, lossless)
        webp = _encode(narrowest, "WEBP", lossless)
    return "webp" if len(webp) < len(own) else _OWN_EXTENSIONS[own_format]


def make_renditions(checked: CheckedImage, extension: str | None = None) -> dict[int, bytes]:
    """The renditions of ``checked``, ``{width: bytes}``: one for each of RENDITION_WIDTHS
    narrower than the image (never upscaled), in the format ``extension`` names
    (rendition_extension's choice unless given: an image brought back by an import keeps
    the format its name gives). Empty when none are made."""
    widths, own_format, lossless = _rendition_plan(checked)
    extension = extension or rendition_extension(checked)
    if not widths or extension is None:
        return {}
    format = "WEBP" if extension == "webp" else own_format
    with PIL.Image.open(io.BytesIO(checked.data)) as picture:
        shown = _shown(checked, picture)
        return {
            width: _encode(_resized(checked, shown, width), format, lossless) for width in widths
        }


def store(checked: CheckedImage, storage=None) -> str:
    """Save ``checked`` in ``storage`` (the default storage unless given) under a new name of
    the address scheme, which names its renditions' format (rendition_extension); returns
    the name. The renditions themselves are store_renditions' work, in a background job."""
    storage = storage or default_storage
    name = image_name(
        secrets.token_hex(6),
        checked.width,
        checked.height,
        rendition_extension(checked),
        checked.stem,
        EXTENSIONS[checked.format],
    )
    saved = storage.save(name, ContentFile(checked.data))
    if saved != name:  # the random key is taken: never overwrite, never rename
        storage.delete(saved)
        raise ImageRefused("Please upload the image again (a name clash, very rare).")
    return name


def store_renditions(name: str, storage=None) -> int:
    """Make and save the renditions the stored original ``name`` lacks (its name says which
    and in what format). Returns how many were saved; 0 when all were there already.
    Raises ImageRefused when the stored file no longer reads as the image its name says."""
    storage = storage or default_storage
    own = parse_name(name)
    if own is None:
        raise ImageRefused(f"{name!r} is not an image name of the library")
    missing = [w for w in own.rendition_widths if not storage.exists(own.rendition_name(w))]
    if not missing:
        return 0
    with storage.open(name, "rb") as stream:
        checked = check_upload(File(stream, name=name.rpartition("/")[2]))
    renditions = make_renditions(checked, own.rendition_ext)
    for width in missing:
        storage.save(own.rendition_name(width), ContentFile(renditions[width]))
    return len(missing)


def ensure_renditions(answer: str, storage=None) -> int:
    """Make now the renditions of the library's images that ``answer`` shows and whose
    background job has not run yet (Image.renditions_ready false), so that no page offers a
    rendition that is not stored: an answer saved right after an upload, while the worker
    is busy with other jobs. Returns how many images were done here; 0 in the usual case,
    after one query (none when the answer shows no image)."""
    if "![" not in (answer or ""):
        return 0
    names = [ref.own.name for ref in image_references(answer) if ref.own is not None]
    if not names:
        return 0
    pending = Image.objects.filter(file__in=names, renditions_ready=False)
    done = 0
    for image in pending:
        store_renditions(image.file.name, storage)
        Image.objects.filter(pk=image.pk).update(renditions_ready=True)
        done += 1
    return done


def missing_images(answer: str, storage=None) -> list[str]:
    """One message for each of this site's images that the answer's Markdown shows and
    storage does not hold (deleted, or named in a copy from another installation)."""
    storage = storage or default_storage
    return [
        f"the image {ref.src!r} is not in the image library (deleted, or uploaded to another "
        f"copy of the site); upload it and paste the Markdown its page gives"
        for ref in image_references(answer)
        if ref.own is not None and not storage.exists(ref.own.name)
    ]
