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
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.text import slugify
from PIL import ImageOps, UnidentifiedImageError

from articles.rendering import image_references
from articles.rendering.images import EXTENSIONS, MAX_SIDE, RENDITION_WIDTHS, image_name

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


def make_renditions(
    checked: CheckedImage, extension: str | None = None
) -> tuple[str | None, dict[int, bytes]]:
    """The renditions of ``checked``: one for each of RENDITION_WIDTHS narrower than the
    image (never upscaled), all in one format: WebP when, all together, they are smaller
    in WebP than in the original's own format (PNG for a GIF), that format otherwise;
    ``extension`` ("webp", or the original's own rendition format) forces the choice
    (an image brought back by an import keeps the format its name gives).

    Returns ``(extension, {width: bytes})``, or ``(None, {})`` when none are made (an
    image no wider than the narrowest, or an animated GIF, whose frames are kept)."""
    widths = [w for w in RENDITION_WIDTHS if w < checked.width]
    if not widths or checked.animated:
        return None, {}
    with PIL.Image.open(io.BytesIO(checked.data)) as picture:
        shown = ImageOps.exif_transpose(picture)
        if shown.mode not in ("RGB", "RGBA", "L", "LA"):
            has_alpha = "transparency" in shown.info or shown.mode in ("PA", "RGBa")
            shown = shown.convert("RGBA" if has_alpha else "RGB")
        own_format = "JPEG" if checked.format == "JPEG" else "PNG"
        if checked.format == "WEBP":
            own_format = "WEBP"
        lossless = checked.format in ("PNG", "GIF")
        own: dict[int, bytes] = {}
        webp: dict[int, bytes] = {}
        for width in widths:
            height = max(1, round(checked.height * width / checked.width))
            resized = shown.resize((width, height), PIL.Image.Resampling.LANCZOS)
            own[width] = _encode(resized, own_format, lossless)
            if own_format != "WEBP":
                webp[width] = _encode(resized, "WEBP", lossless)
    if extension == "webp" and webp:
        return "webp", webp
    forced_own = extension is not None and extension != "webp"
    if webp and not forced_own and sum(map(len, webp.values())) < sum(map(len, own.values())):
        return "webp", webp
    return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[own_format], own


def store(checked: CheckedImage, storage=None) -> str:
    """Save ``checked`` and its renditions in ``storage`` (the default storage unless
    given) under a new name of the address scheme; returns the original's name."""
    storage = storage or default_storage
    rendition_ext, renditions = make_renditions(checked)
    name = image_name(
        secrets.token_hex(6),
        checked.width,
        checked.height,
        rendition_ext,
        checked.stem,
        EXTENSIONS[checked.format],
    )
    saved = storage.save(name, ContentFile(checked.data))
    if saved != name:  # the random key is taken: never overwrite, never rename
        storage.delete(saved)
        raise ImageRefused("Please upload the image again (a name clash, very rare).")
    folder, _, file_name = name.rpartition("/")
    stem = file_name.rpartition(".")[0]
    for width, data in renditions.items():
        storage.save(f"{folder}/{stem}-{width}w.{rendition_ext}", ContentFile(data))
    return name


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
