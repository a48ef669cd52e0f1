"""Share images (articles.cards): one card per subject, drawn once at subject saves, named
by the pages' Open Graph and Twitter tags with its size and alt text."""

import re
from html import unescape
from io import BytesIO, StringIO

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from articles import cards
from articles.models import Subject

pytestmark = pytest.mark.django_db

SITE = "https://learn.example.com"
CHAIN_RULE = (
    "/learn/mathematics/questions/how-do-you-differentiate-a-composite-function-with-the-chain-rule"
)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def meta(html, attribute, name):
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', html)
    return unescape(match[1]) if match else None


def stored_size(name):
    with default_storage.open(name) as stream:
        image = Image.open(BytesIO(stream.read()))
        return image.format, image.size


def test_an_imported_subject_gets_its_card_in_storage(sample_site):
    maths = Subject.objects.get(slug="mathematics")
    assert re.fullmatch(r"cards/mathematics-[0-9a-f]{12}\.png", maths.card)
    assert stored_size(maths.card) == ("PNG", (1200, 630))
    assert stored_size(cards.site_card_name()) == ("PNG", (1200, 630))


@pytest.mark.parametrize(
    "path", [CHAIN_RULE, "/learn/mathematics"], ids=["article page", "subject page"]
)
def test_pages_name_their_subjects_card_with_size_and_alt(client, sample_site, path):
    html = client.get(path).content.decode()
    url = SITE + "/media/" + Subject.objects.get(slug="mathematics").card
    assert meta(html, "property", "og:image") == url
    assert meta(html, "property", "og:image:width") == "1200"
    assert meta(html, "property", "og:image:height") == "630"
    assert meta(html, "property", "og:image:alt") == "Mathematics | QuickTakes Learn"
    assert meta(html, "name", "twitter:card") == "summary_large_image"
    assert meta(html, "name", "twitter:image") == url
    assert meta(html, "name", "twitter:image:alt") == "Mathematics | QuickTakes Learn"


def test_the_index_names_the_site_card(client, sample_site):
    html = client.get("/learn").content.decode()
    assert meta(html, "property", "og:image") == SITE + "/media/" + cards.site_card_name()
    assert meta(html, "property", "og:image:alt") == "QuickTakes Learn"
    assert meta(html, "name", "twitter:card") == "summary_large_image"


def test_a_subject_without_a_stored_card_falls_back_to_the_site_card(client, sample_site):
    Subject.objects.filter(slug="mathematics").update(card="")
    html = client.get("/learn/mathematics").content.decode()
    assert meta(html, "property", "og:image") == SITE + "/media/" + cards.site_card_name()


def test_pages_never_draw_a_card(client, sample_site, monkeypatch):
    Subject.objects.filter(slug="mathematics").update(card="")
    default_storage.delete(cards.site_card_name())
    cache.clear()  # what stored_site_card remembered

    def refuse(title):
        raise AssertionError("a page drew a card")

    monkeypatch.setattr(cards, "draw_card", refuse)
    html = client.get("/learn/mathematics").content.decode()
    assert meta(html, "property", "og:image") is None
    assert meta(html, "name", "twitter:card") == "summary"


def test_saving_a_subject_unchanged_draws_no_new_card(sample_site, monkeypatch):
    maths = Subject.objects.get(slug="mathematics")
    drawn = []
    monkeypatch.setattr(cards, "draw_card", lambda title: drawn.append(title) or b"")
    maths.position = 7
    maths.save()
    assert drawn == []
    assert Subject.objects.get(pk=maths.pk).card == maths.card


def test_renaming_a_subject_draws_a_new_card(sample_site):
    maths = Subject.objects.get(slug="mathematics")
    old = maths.card
    maths.title = "Maths"
    maths.save()
    new = Subject.objects.get(pk=maths.pk).card
    assert new != old and new.startswith("cards/mathematics-")
    assert stored_size(new) == ("PNG", (1200, 630))
    assert default_storage.exists(old)  # pages cached with the old name still find it


def test_build_cards_draws_only_the_missing_ones(sample_site):
    maths = Subject.objects.get(slug="mathematics")
    default_storage.delete(maths.card)
    out = StringIO()
    call_command("build_cards", stdout=out)
    assert "1 cards drawn" in out.getvalue()
    assert stored_size(maths.card) == ("PNG", (1200, 630))


def test_a_missing_site_card_is_asked_of_storage_once_and_a_drawn_one_seen_at_once(
    sample_site, monkeypatch
):
    # On object storage each question is a request to another server: pages must not ask
    # it on every render while no card is stored.
    default_storage.delete(cards.site_card_name())
    cache.clear()
    asked = []
    storage = default_storage._wrapped  # the storage itself, behind Django's lazy object
    exists = storage.exists
    monkeypatch.setattr(storage, "exists", lambda name: asked.append(name) or exists(name))
    assert cards.stored_site_card() is None
    assert cards.stored_site_card() is None
    assert asked == [cards.site_card_name()]
    assert cards.ensure_site_card() is True
    assert cards.stored_site_card() == cards.site_card_name()
