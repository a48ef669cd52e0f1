"""The image library: uploads checked and decoded once (size, format, pixels, SVG),
renditions made by a background job (or by the first save that needs them) and never
upscaled, the admin's list and the Markdown to paste."""

import io
import zipfile

import PIL.Image
import pytest
from django.conf.urls.static import static
from django.contrib.auth.models import Group, Permission, User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from articles import images
from articles.admin.forms import ArticleAdminForm
from articles.exporting import export_articles
from articles.frontmatter import FrontMatterError, parse_file
from articles.importing import files as importing_files
from articles.importing import import_paths
from articles.importing.files import SourceFile
from articles.importing.prepare import prepare_file
from articles.models import Article, Image, Subject
from articles.rendering import image_references
from articles.rendering.images import parse_name

ADD = "admin:articles_image_add"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def editor(client):
    user = User.objects.create_user("edna", password="a-long-test-password", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return user


def picture(width, height, format="PNG", mode="RGB", name=None):
    """An upload of a width x height picture with some detail (a gradient)."""
    image = PIL.Image.linear_gradient("L").resize((width, height)).convert(mode)
    out = io.BytesIO()
    image.save(out, format)
    extension = {"JPEG": "jpg"}.get(format, format.lower())
    return SimpleUploadedFile(name or f"Pulley Diagram.{extension}", out.getvalue())


def test_an_upload_is_stored_then_its_renditions_narrower_than_it_never_wider():
    checked = images.check_upload(picture(1200, 800))
    name = images.store(checked)
    own = parse_name(name)
    assert (own.width, own.height) == (1200, 800)
    assert own.rendition_widths == (480, 960)
    folder = name.rpartition("/")[0]
    assert default_storage.listdir(folder)[1] == ["pulley-diagram.png"]  # the original only
    assert images.store_renditions(name) == 2
    for width in (480, 960):
        with default_storage.open(own.rendition_name(width)) as stream:
            assert PIL.Image.open(stream).size == (width, own.rendition_height(width))
    assert not any("1440w" in n for n in default_storage.listdir(folder)[1])
    assert name.endswith("/pulley-diagram.png")
    assert images.store_renditions(name) == 0  # done once


def test_renditions_take_webp_when_it_is_smaller():
    # A photo-like JPEG: WebP at the same quality is smaller.
    checked = images.check_upload(picture(1000, 700, "JPEG"))
    assert images.rendition_extension(checked) == "webp"
    renditions = images.make_renditions(checked)
    assert set(renditions) == {480, 960}
    assert all(data[8:12] == b"WEBP" for data in renditions.values())
    # The format a name gives is kept (an image brought back by an import).
    assert images.make_renditions(checked, "jpg")[480][:2] == b"\xff\xd8"


def test_an_image_no_wider_than_the_narrowest_rendition_gets_none():
    checked = images.check_upload(picture(400, 300))
    assert images.rendition_extension(checked) is None
    assert images.make_renditions(checked) == {}
    name = images.store(checked)
    assert parse_name(name).rendition_widths == ()
    assert images.store_renditions(name) == 0


def test_svg_is_refused_with_a_clear_message():
    svg = SimpleUploadedFile(
        "d.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'
    )
    with pytest.raises(images.ImageRefused, match="SVG images are not accepted"):
        images.check_upload(svg)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    # 50 megapixels of one colour: a few kB of PNG.
    out = io.BytesIO()
    PIL.Image.new("1", (10_000, 5_000)).save(out, "PNG")
    bomb = SimpleUploadedFile("bomb.png", out.getvalue())
    assert bomb.size < 100_000
    with pytest.raises(images.ImageRefused, match="too large to decode safely"):
        images.check_upload(bomb)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(monkeypatch):
    class Unread(SimpleUploadedFile):
        def read(self, *args):
            raise AssertionError("read before its size was checked")

    upload = Unread("big.png", picture(100, 100).read())
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", upload.size - 1)
    with pytest.raises(images.ImageRefused, match="the limit is"):
        images.check_upload(upload)


@pytest.mark.parametrize(
    "content", [b"just text", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"BM" + b"\x00" * 60]
)
def test_what_is_not_a_png_jpeg_webp_or_gif_is_refused(content):
    with pytest.raises(images.ImageRefused):
        images.check_upload(SimpleUploadedFile("x.png", content))


@pytest.mark.django_db
def test_an_editor_uploads_an_image_and_gets_the_markdown_to_paste(
    client, editor, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(ADD),
            {"file": picture(1200, 800), "alt_text": "A pulley  with two masses"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    image = Image.objects.get()
    assert (image.width, image.height, image.uploaded_by) == (1200, 800, editor)
    assert image.alt_text == "A pulley with two masses"
    assert image.markdown == f"![A pulley with two masses](/media/{image.file.name})"
    page = client.get(reverse("admin:articles_image_change", args=[image.pk])).content.decode()
    assert image.markdown in page
    # The request stored the original; its renditions are a job for the worker.
    folder = image.file.name.rpartition("/")[0]
    assert len(default_storage.listdir(folder)[1]) == 1
    assert not image.renditions_ready
    job = DBTaskResult.objects.get()
    assert job.task_path == "articles.tasks.make_image_renditions"
    worker()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert len(default_storage.listdir(folder)[1]) == 3  # the original, 480w and 960w
    image.refresh_from_db()
    assert image.renditions_ready


@pytest.mark.django_db
def test_an_answer_saved_before_the_renditions_job_ran_makes_them_itself(
    client, editor, sample_site, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse(ADD), {"file": picture(1200, 800), "alt_text": "A pulley"})
    image = Image.objects.get()
    own = parse_name(image.file.name)
    # The worker is busy elsewhere: the answer showing the image is saved first.
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    assert not any(default_storage.exists(own.rendition_name(w)) for w in own.rendition_widths)
    article.answer = f"{image.markdown}\n\nTwo masses."
    article.save()
    assert all(default_storage.exists(own.rendition_name(w)) for w in own.rendition_widths)
    image.refresh_from_db()
    assert image.renditions_ready
    worker()  # then the job finds nothing left to do
    assert DBTaskResult.objects.get().return_value == 0


@pytest.mark.django_db
def test_an_import_showing_an_image_whose_job_has_not_run_makes_its_renditions(
    client, editor, write_article, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse(ADD), {"file": picture(1200, 800), "alt_text": "A pulley"})
    image = Image.objects.get()
    own = parse_name(image.file.name)
    path = write_article(answer=f"{image.markdown}\\n\\nTwo masses.")
    report = import_paths([path], workers=1)
    assert report.created == 1, report.errors
    assert all(default_storage.exists(own.rendition_name(w)) for w in own.rendition_widths)
    image.refresh_from_db()
    assert image.renditions_ready


@pytest.mark.django_db
def test_the_renditions_job_of_an_image_deleted_meanwhile_does_nothing(
    client, editor, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse(ADD), {"file": picture(1200, 800), "alt_text": "A pulley"})
    Image.objects.all().delete()
    worker()
    job = DBTaskResult.objects.get()
    assert (job.status, job.return_value) == ("SUCCESSFUL", 0)


@pytest.mark.django_db
def test_the_upload_form_says_why_an_svg_is_refused(client, editor):
    svg = SimpleUploadedFile("d.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>')
    response = client.post(reverse(ADD), {"file": svg, "alt_text": "A drawing"})
    assert response.status_code == 200
    assert "SVG images are not accepted" in response.content.decode()
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_alt_text_is_required(client, editor):
    response = client.post(reverse(ADD), {"file": picture(100, 100), "alt_text": "  "})
    assert response.status_code == 200
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_the_library_is_searched_by_alt_text_and_file_name_with_thumbnails(client, editor):
    for alt, name in (("A pulley", "pulley.png"), ("A titration curve", "curve.png")):
        client.post(reverse(ADD), {"file": picture(600, 400, name=name), "alt_text": alt})
    changelist = reverse("admin:articles_image_changelist")

    def found(query):
        response = client.get(changelist, {"q": query})
        return [image.alt_text for image in response.context["cl"].result_list], response

    assert found("titration")[0] == ["A titration curve"]
    by_name, response = found("pulley.png")
    assert by_name == ["A pulley"]
    # The thumbnail is the original until the renditions are made, then the narrowest.
    page = response.content.decode()
    assert "-480w." not in page and 'class="image-thumbnail"' in page
    for image in Image.objects.all():
        images.store_renditions(image.file.name)
    Image.objects.update(renditions_ready=True)
    assert "-480w." in found("pulley.png")[1].content.decode()


def test_a_file_named_like_a_rendition_is_stored_under_a_name_that_is_not_one():
    name = images.store(images.check_upload(picture(100, 100, name="graph-480w.png")))
    assert name.endswith("/graph-480w-1.png")
    assert parse_name(name) is not None


# ---- Refused at import and at save, never dropped unseen ---------------------------------


def test_import_refuses_an_external_image_with_file_and_line(write_article):
    path = write_article(answer="See ![a graph](https://example.com/g.png).")
    with pytest.raises(FrontMatterError) as caught:
        parse_file(path)
    assert caught.value.line is not None
    assert "'https://example.com/g.png' is not on this site" in str(caught.value)
    assert str(path) in str(caught.value)


def test_import_refuses_an_own_image_that_is_not_in_storage(write_article):
    good = images.store(images.check_upload(picture(100, 100)))
    gone = "/media/images/0123456789ab-100x100/gone.png"
    path = write_article(answer=f"![ok](/media/{good}) and ![x]({gone})")
    status, _, error = prepare_file(SourceFile(path, str(path)))
    assert status == "error"
    assert "not in the image library" in error.message and error.line is not None


@pytest.mark.django_db
def test_the_article_form_refuses_an_external_image_and_a_missing_one():
    good = images.store(images.check_upload(picture(100, 100)))
    for answer, expected in (
        ("![g](https://example.com/g.png)", "is not on this site"),
        ("![g](/media/images/0123456789ab-100x100/gone.png)", "not in the image library"),
    ):
        form = ArticleAdminForm(data={"answer": answer})
        form.is_valid()
        assert expected in " ".join(form.errors["answer"])
    form = ArticleAdminForm(data={"answer": f"![g](/media/{good})"})
    form.is_valid()
    assert "answer" not in form.errors


def test_media_is_served_only_in_development(settings):
    settings.DEBUG = True
    assert static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
    settings.DEBUG = False
    assert static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) == []


# ---- The answer editor's "Insert image" -------------------------------------------------

PICKER = "admin:articles_image_picker"


@pytest.mark.django_db
def test_the_picker_lists_matching_images_with_the_markdown_to_insert(client, editor):
    for alt, name in (("A pulley with two masses", "pulley.png"), ("A titration", "t.png")):
        client.post(reverse(ADD), {"file": picture(600, 400, name=name), "alt_text": alt})
    pulley = Image.objects.get(alt_text__startswith="A pulley")
    response = client.get(reverse(PICKER), {"q": "PULLEY masses"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert f'data-markdown="{pulley.markdown}"' in fragment
    assert "A titration" not in fragment and "<html" not in fragment
    # The Markdown inserted is what the renderer takes for one of the site's own images.
    (reference,) = image_references(pulley.markdown)
    assert reference.own is not None and reference.own.name == pulley.file.name
    by_file = client.get(reverse(PICKER), {"q": "t.png"}).content.decode()
    assert "A titration" in by_file and "A pulley" not in by_file
    nothing = client.get(reverse(PICKER), {"q": "zebra"}).content.decode()
    assert "No image" in nothing and "zebra" in nothing


@pytest.mark.django_db
def test_the_picker_is_for_staff_who_may_view_images(client):
    plain = User.objects.create_user("sam", password="a-long-test-password", is_staff=True)
    client.force_login(plain)
    assert client.get(reverse(PICKER)).status_code == 403
    client.logout()
    assert client.get(reverse(PICKER)).status_code == 302  # to the admin's login


@pytest.mark.django_db
def test_the_answer_editor_has_an_insert_image_button_for_those_who_may_view_images(
    client, editor, sample_site
):
    article = Article.objects.first()
    url = reverse("admin:articles_article_change", args=[article.pk])
    page = client.get(url).content.decode()
    assert 'class="button answer-editor__insert-image"' in page
    assert f'data-picker-url="{reverse(PICKER)}"' in page
    assert "js/admin_image_picker.js" in page
    # Someone who may edit articles but not see the library gets no button.
    editor.groups.clear()
    for codename in ("view_article", "change_article"):
        editor.user_permissions.add(Permission.objects.get(codename=codename))
    page = client.get(url).content.decode()
    assert "answer-editor__insert-image" not in page


@pytest.mark.django_db
def test_the_library_list_shows_each_images_markdown_to_copy(client, editor):
    client.post(reverse(ADD), {"file": picture(300, 200), "alt_text": "A [small] graph"})
    image = Image.objects.get()
    page = client.get(reverse("admin:articles_image_changelist")).content.decode()
    assert f'<code class="image-markdown">{image.markdown}</code>' in page
    assert "\\[small\\]" in image.markdown


# ---- Export and import of images -----------------------------------------------------------


def _article_showing_an_image(alt="A pulley with two masses"):
    """The sample site's perfect-square article, its answer showing a new library image."""
    checked = images.check_upload(picture(1200, 800))
    image = Image.objects.create(
        file=images.store(checked), alt_text=alt, width=checked.width, height=checked.height
    )
    # The save makes the renditions whose job has not run (none ran here).
    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    article.answer = f"{image.markdown}\n\n{article.answer}"
    article.save()
    return article, image


def _empty_site(settings, tmp_path):
    Article.objects.all().delete()
    Subject.objects.all().delete()
    Image.objects.all().delete()
    settings.MEDIA_ROOT = tmp_path / "other-media"


@pytest.mark.django_db
def test_an_export_holds_the_images_and_an_import_on_an_empty_site_brings_them_back(
    sample_site, settings, tmp_path
):
    article, image = _article_showing_an_image()
    page = article.answer_html
    own = parse_name(image.file.name)
    out = tmp_path / "export"
    export_articles(Article.objects.all(), out)
    for name in (own.name, *(own.rendition_name(w) for w in own.rendition_widths)):
        assert (out / "uploads" / name).is_file()
    assert len(list((out / "uploads").rglob("*.*"))) == 3  # only the image shown

    _empty_site(settings, tmp_path)
    assert not default_storage.exists(own.name)
    report = import_paths([out], workers=1)
    assert report.errors == []
    assert report.images == 1 and "1 images added" in report.summary()
    restored = Image.objects.get()
    assert (restored.file.name, restored.alt_text) == (own.name, "A pulley with two masses")
    assert (restored.width, restored.height) == (1200, 800)
    for width in own.rendition_widths:
        assert default_storage.exists(own.rendition_name(width))
    again = Article.objects.get(slug=article.slug)
    assert again.answer_html == page and 'srcset="' in page

    # A second import finds the same image by name and content: nothing added twice.
    report = import_paths([out], workers=1, force=True)
    assert report.errors == [] and report.images == 0
    assert Image.objects.count() == 1


@pytest.mark.django_db
def test_a_bad_image_in_an_uploaded_zip_is_named_and_the_rest_is_imported(
    sample_site, settings, tmp_path
):
    article, image = _article_showing_an_image()
    out = tmp_path / "export"
    export_articles(Article.objects.all(), out)
    broken = out / "uploads" / image.file.name
    broken.write_bytes(broken.read_bytes()[:200])  # cut short
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(out).as_posix())

    _empty_site(settings, tmp_path)
    report = import_paths([archive], workers=1)
    messages = [str(error) for error in report.errors]
    bad = [m for m in messages if image.file.name in m and "the image was not added" in m]
    assert bad and "cannot be read" in bad[0], messages
    # The article showing it is refused (its image is missing); the others are imported.
    assert any("not in the image library" in m for m in messages)
    assert report.created == report.files - 1 > 0
    assert not Image.objects.exists()


@pytest.mark.django_db
def test_an_image_member_over_the_size_limit_is_refused_before_it_is_read(
    sample_site, settings, tmp_path, monkeypatch
):
    _, image = _article_showing_an_image()
    out = tmp_path / "export"
    export_articles(Article.objects.all(), out)
    archive = tmp_path / "site.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(out).as_posix())
    monkeypatch.setattr(importing_files, "MAX_UPLOAD_BYTES", 100)
    opened = []
    open_member = zipfile.ZipFile.open

    def recorded(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return open_member(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recorded)
    _empty_site(settings, tmp_path)
    report = import_paths([archive], workers=1)
    messages = [str(error) for error in report.errors]
    assert any(image.file.name in m and "the limit is 100" in m for m in messages), messages
    assert f"uploads/{image.file.name}" not in opened and opened  # articles were read
    assert not Image.objects.exists()
