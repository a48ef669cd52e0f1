"""Import in the admin in a real browser (Debian's Chromium through Playwright): upload a
zip, read its dry run's report, confirm, see the articles; a screenshot of the report at
1280 px goes to test-artifacts/screenshots/ (never committed). Skipped without Chromium."""

import zipfile

import pytest
from django.contrib.auth.models import Group, User

from articles.models import Article, ArticleImport
from tests.conftest import CHROMIUM, FIXTURES, PASSWORD, RECORD_VIOLATIONS, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def editor():
    user = User.objects.create_user("edna", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def test_upload_a_zip_read_its_report_confirm_and_see_the_articles(admin_page, editor, tmp_path):
    learn = FIXTURES / "learn"
    archive = tmp_path / "learn.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(learn.rglob("*.md")):
            zipped.write(path, f"learn/{path.relative_to(learn)}")
        zipped.write(
            FIXTURES.parent / "tests" / "bad_input" / "date-february-30.md",
            "learn/mathematics/date-february-30.md",
        )
    files = len(list(learn.rglob("*.md")))

    page = admin_page("edna", init_script=RECORD_VIOLATIONS)
    page.click("text=Article imports")
    page.click("text=Add article import")
    page.set_input_files("#id_files", str(archive))
    screenshot(page, "admin-import-upload-1280.png", full_page=True)
    assert page.evaluate("window.__violations") == []
    page.click("input[value='Upload and check']")

    page.wait_for_selector("#import-report")
    assert "Dry run: what the import would do" in page.inner_text("#import-report h2")
    assert page.inner_text("#count-created") == str(files)
    errors = page.inner_text("#import-errors")
    assert "learn.zip/learn/mathematics/date-february-30.md\t4\t" in errors
    assert not Article.objects.exists()
    assert page.evaluate("window.__violations") == []  # the page keeps the site's CSP
    screenshot(page, "admin-import-report-1280.png", full_page=True)

    page.click("input[name=confirm]")
    page.wait_for_selector("ul.messagelist li.success")
    assert "What the import did" in page.inner_text("#import-report h2")
    assert Article.objects.count() == files
    assert ArticleImport.objects.get().status == ArticleImport.Status.APPLIED

    # The articles are there for readers, from the report's own links.
    first = page.locator("#import-create a").first
    address = first.get_attribute("href")
    first.click()
    page.wait_for_url(f"**{address}")
    assert page.locator("h1").count() == 1
