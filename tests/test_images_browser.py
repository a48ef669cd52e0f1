"""The image library and the answer editor's "Insert image" in a real browser (Debian's
Chromium through Playwright): an image uploaded with its alt text, picked from the editor's
dialog with the keyboard, saved, and shown on the public page with its size and renditions.
Screenshots of the library and the picker at 1280 px go to test-artifacts/screenshots/
(never committed). Skipped where /usr/bin/chromium is absent."""

import mimetypes
import re

import PIL.Image
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User

from articles.models import Article, Image
from tests.conftest import CHROMIUM, PASSWORD, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def publisher():
    user = User.objects.create_user("paula", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Publishers"))
    return user


def serve_media(route):
    """The test server serves no uploads (the proxy does in production): answer /media/
    from MEDIA_ROOT here."""
    name = route.request.url.split(settings.MEDIA_URL, 1)[1]
    path = settings.MEDIA_ROOT / name
    if not path.is_file():
        route.fulfill(status=404)
        return
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    route.fulfill(status=200, body=path.read_bytes(), content_type=content_type)


@pytest.fixture
def page(admin_page, publisher):
    """The publisher's logged-in page, its browser answering /media/ (serve_media)."""
    page = admin_page("paula")
    page.context.route(re.compile(r"^https?://[^/]+/media/"), serve_media)
    return page


def test_an_image_is_uploaded_inserted_with_the_keyboard_and_shown_responsive(
    page, live_server, tmp_path, sample_site
):
    upload = tmp_path / "pulley-diagram.png"
    PIL.Image.linear_gradient("L").resize((1200, 800)).convert("RGB").save(upload)

    page.goto(f"{live_server.url}/admin/articles/image/add/")
    page.set_input_files("#id_file", str(upload))
    page.fill("#id_alt_text", "A pulley with two masses")
    page.click("input[name=_save]")
    page.wait_for_selector("#result_list")
    image = Image.objects.get()
    assert page.locator("#result_list code.image-markdown").inner_text() == image.markdown
    screenshot(page, "admin-image-library-1280.png")

    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    answer = page.locator("#id_answer")
    first_line = article.answer.split("\n", 1)[0]
    # The cursor at the end of the answer's first line.
    answer.evaluate("(el, at) => { el.focus(); el.setSelectionRange(at, at); }", len(first_line))
    # From the answer back past the library's link to the button.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    button = page.locator(".answer-editor__insert-image")
    assert button.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.image-picker")
    dialog.wait_for(state="visible")
    page.keyboard.type("pulley")
    dialog.locator('.image-picker__results[data-query="pulley"]').wait_for()
    choice = dialog.locator(".image-picker__choice", has_text="A pulley with two masses")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.image-picker__thumbnail')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    screenshot(page, "admin-image-picker-1280.png")
    page.keyboard.press("ArrowDown")
    assert choice.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    dialog.wait_for(state="hidden")

    expected = first_line + image.markdown + article.answer[len(first_line) :]
    assert answer.input_value() == expected
    assert answer.evaluate("el => el === document.activeElement")
    # The live preview follows, with the image as readers will get it.
    preview_image = page.locator("#id_answer_preview img[srcset]")
    preview_image.wait_for()
    assert preview_image.get_attribute("alt") == "A pulley with two masses"

    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    article.refresh_from_db()
    assert article.answer == expected

    page.goto(live_server.url + article.get_absolute_url())
    shown = page.locator(f'img[alt="{image.alt_text}"]')
    assert shown.get_attribute("width") == "1200"
    assert shown.get_attribute("height") == "800"
    assert shown.get_attribute("loading") == "lazy"
    srcset = shown.get_attribute("srcset")
    assert "480w" in srcset and "960w" in srcset and "1200w" in srcset
    shown.scroll_into_view_if_needed()
    page.wait_for_function(
        "alt => { const img = document.querySelector(`img[alt='${alt}']`);"
        " return img.complete && img.naturalWidth > 0; }",
        arg=image.alt_text,
    )
    assert page.errors == []


def test_the_picker_closes_with_escape_and_gives_the_focus_back(page, live_server, sample_site):
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    page.goto(f"{live_server.url}/admin/articles/article/{article.pk}/change/")
    page.click(".answer-editor__insert-image")
    dialog = page.locator("dialog.image-picker")
    dialog.wait_for(state="visible")
    dialog.locator(".image-picker__none").wait_for()
    page.keyboard.press("Enter")  # in the search box: never submits the article form
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    button = page.locator(".answer-editor__insert-image")
    assert button.evaluate("el => el === document.activeElement")
    assert page.locator("#id_answer").input_value() == article.answer
    assert page.url.endswith(f"/admin/articles/article/{article.pk}/change/")
    assert page.errors == []
