"""Images brought in by an import: those of an export's ``uploads/`` folder are added to the
image library under the name they were exported with (so the answers' addresses show them
again), before the articles that show them are checked. Decoding and the checks of an
upload are articles.images; finding the files is articles.importing.files.
"""

from __future__ import annotations

import hashlib

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from articles import images
from articles.frontmatter import MAX_FILE_BYTES, FrontMatterError, parse_file
from articles.models import Image
from articles.rendering import image_references
from articles.rendering.images import EXTENSIONS, parse_name


def alt_texts(files):
    """``{storage name: alt text}`` of the site's images the answers of ``files`` (SourceFile
    objects) show, the first alt text given to each; files that cannot be parsed (the
    import reports them) or are over MAX_FILE_BYTES are passed over."""
    alts = {}
    for source in files:
        try:
            if source.path.stat().st_size > MAX_FILE_BYTES:
                continue
            record = parse_file(source.path)
        except (OSError, FrontMatterError):
            continue
        for reference in image_references(record.answer):
            alt = " ".join(reference.alt.split())
            if reference.own is not None and alt:
                alts.setdefault(reference.own.name, alt)
    return alts


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def add_image(source, alt, storage=None):
    """Add the image file ``source`` (a SourceFile whose ``source_path`` is the storage name
    it was exported under) to the library with ``alt`` as its alt text.

    Checked as an upload is (size before reading, format, pixels: articles.images), and
    its size and format must be those its name gives. When storage holds that name
    already, the same content (by SHA-256) is the same image: only its row is made if
    missing. Renditions are made again, in the format the name gives. Returns True when
    the file was stored, False when it was there already. Raises ImageRefused saying why
    it cannot be added."""
    storage = storage or default_storage
    own = parse_name(source.source_path)
    if own is None:
        raise images.ImageRefused("its name is not one the image library gives")
    if not alt:
        raise images.ImageRefused(
            "no answer of the import shows it, so it has no alt text (which an image needs)"
        )
    with open(source.path, "rb") as stream:
        checked = images.check_upload(File(stream, name=source.path.name))
    if (checked.width, checked.height) != (own.width, own.height):
        raise images.ImageRefused(
            f"it is {checked.width} × {checked.height} pixels, but its name says "
            f"{own.width} × {own.height}"
        )
    if EXTENSIONS[checked.format] != own.name.rpartition(".")[2]:
        raise images.ImageRefused(f"it is a {checked.format} image under another extension")
    stored = False
    if storage.exists(own.name):
        with storage.open(own.name, "rb") as existing:
            if _digest(existing.read()) != _digest(checked.data):
                raise images.ImageRefused(
                    "the library holds a different image under this name; it was left as is"
                )
    else:
        saved = storage.save(own.name, ContentFile(checked.data))
        if saved != own.name:
            storage.delete(saved)
            raise images.ImageRefused("its name could not be taken in storage")
        renditions = images.make_renditions(checked, own.rendition_ext)
        for width in own.rendition_widths:
            if width in renditions:
                storage.save(own.rendition_name(width), ContentFile(renditions[width]))
        stored = True
    Image.objects.get_or_create(
        file=own.name,
        # The renditions were stored above, or with the image by an earlier import.
        defaults={
            "alt_text": alt[:300],
            "width": own.width,
            "height": own.height,
            "renditions_ready": True,
        },
    )
    return stored


def add_images(uploads, files, errors, storage=None):
    """Add the images of ``uploads`` (SourceFile objects from collect_files) that answers of
    ``files`` show; renditions among them are passed over (made again from their original).

    A file that cannot be added is appended to ``errors`` as a FrontMatterError naming it
    and saying why; the others go on. Returns the number of images stored."""
    originals = [source for source in uploads if parse_name(source.source_path) is not None]
    if not originals:
        return 0
    alts = alt_texts(files)
    added = 0
    for source in originals:
        try:
            added += add_image(source, alts.get(source.source_path), storage)
        except images.ImageRefused as error:
            errors.append(FrontMatterError(source, f"the image was not added: {error}"))
    return added
