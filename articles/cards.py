"""Share images (Open Graph, Twitter cards): one 1200×630 PNG per subject and one for the
site, drawn once with Pillow and kept in Django's default storage under ``cards/``.

A card's file name carries a hash of what is drawn on it, so drawing is idempotent and a
renamed subject gets a new file. Pages only name stored cards; they never draw one.
"""

import hashlib
import io

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFont

from articles.rendering.images import media_url

#: Open Graph's recommended size for a large preview (pixels).
WIDTH, HEIGHT = 1200, 630
#: Goes up when the design changes, so every card is drawn again under a new name.
DESIGN_VERSION = 1
FOLDER = "cards"
#: Seconds a found site card is remembered (a page asks storage at most this often).
SEEN_SECONDS = 24 * 3600
#: Seconds a missing site card is remembered: ensure() notes one it draws at once.
MISSING_SECONDS = 300

BACKGROUND = (28, 31, 38)
ACCENT = (94, 129, 244)
TEXT = (255, 255, 255)
MUTED = (186, 193, 207)
MARGIN = 80


def _digest(*parts):
    text = "\0".join(str(part) for part in (DESIGN_VERSION, settings.SITE_NAME, *parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def subject_card_name(slug, title):
    """The storage name of the card of the subject ``slug`` titled ``title``:
    ``cards/<slug>-<hash of the title, the site's name and the design>.png``."""
    return f"{FOLDER}/{slug}-{_digest(title)}.png"


def site_card_name():
    """The storage name of the site's own card (for /learn and subjects without one)."""
    return f"{FOLDER}/site-{_digest()}.png"


def _wrapped(draw, text, font, width):
    """``text`` split into lines no wider than ``width`` pixels in ``font``."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def draw_card(title):
    """A WIDTH×HEIGHT PNG (bytes) showing ``title`` large and the site's name below it,
    in Pillow's own scalable font (no system font needed). A title too long for three
    lines at the largest size is set smaller."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 24, HEIGHT), fill=ACCENT)
    text_width = WIDTH - 2 * MARGIN
    for size in (96, 80, 64, 52, 44):
        font = ImageFont.load_default(size=size)
        lines = _wrapped(draw, title, font, text_width)
        if len(lines) <= 3:
            break
    lines = lines[:4]
    y = MARGIN + 40
    for line in lines:
        draw.text((MARGIN, y), line, font=font, fill=TEXT)
        y += int(size * 1.2)
    site_font = ImageFont.load_default(size=40)
    draw.line((MARGIN, HEIGHT - MARGIN - 70, MARGIN + 120, HEIGHT - MARGIN - 70), ACCENT, 6)
    draw.text((MARGIN, HEIGHT - MARGIN - 40), settings.SITE_NAME, font=site_font, fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def ensure(name, title):
    """Store the card ``name`` showing ``title`` unless storage holds it already.
    Returns True when it was drawn now."""
    if default_storage.exists(name):
        return False
    default_storage.save(name, ContentFile(draw_card(title)))
    cache.set(f"card-seen:{name}", True, SEEN_SECONDS)
    return True


def ensure_site_card():
    """Store the site's card unless stored. Returns True when it was drawn now."""
    return ensure(site_card_name(), settings.SITE_NAME)


def stored_site_card():
    """The site card's name when storage holds it, else None. The answer is kept in the
    cache (SEEN_SECONDS, or MISSING_SECONDS while there is no card: ensure() notes a card
    it draws at once), so a page render does not ask storage, which on object storage is
    a request to another server; never draws."""
    name = site_card_name()
    key = f"card-seen:{name}"
    seen = cache.get(key)
    if seen is None:
        seen = default_storage.exists(name)
        cache.set(key, seen, SEEN_SECONDS if seen else MISSING_SECONDS)
    return name if seen else None


def absolute_url(name):
    """The absolute URL of the stored file ``name``: its site address (media_url) on
    SITE_URL, the proxy serving /media/cards/ from any storage."""
    url = media_url(name)
    return settings.SITE_URL + url if url.startswith("/") else url


def image_meta(name, alt):
    """``{"url", "width", "height", "alt"}`` for a card, or None when ``name`` is empty."""
    if not name:
        return None
    return {"url": absolute_url(name), "width": WIDTH, "height": HEIGHT, "alt": alt}
