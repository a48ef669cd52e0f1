"""Uploaded files on S3-compatible object storage: django-storages' S3Storage against moto's
S3 server over HTTP. The image library, the pages showing its images, export and import,
backups and uploaded imports work as they do on the folder storage. Skipped without the
packages (requirements-dev.txt)."""

import io
import os
import subprocess
import sys
import uuid

import PIL.Image
import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from articles import images
from articles.backups import backup_images, restore_images
from articles.exporting import export_articles
from articles.importing import import_paths
from articles.importing.uploads import create, delete_files, run
from articles.models import Article, ArticleImport, Image, Subject
from articles.rendering.images import parse_name
from tests.conftest import FIXTURES, PROJECT_ROOT

boto3 = pytest.importorskip("boto3")
pytest.importorskip("storages.backends.s3")
ThreadedMotoServer = pytest.importorskip("moto.server").ThreadedMotoServer

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint():
    """An S3-compatible server on a free local port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def new_bucket(endpoint):
    """Make an empty bucket; returns a function giving its name and its object names."""
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)

    def new_bucket():
        name = f"qt-{uuid.uuid4().hex[:16]}"
        client.create_bucket(Bucket=name)

        def objects():
            listed = client.list_objects_v2(Bucket=name).get("Contents", [])
            return sorted(item["Key"] for item in listed)

        return name, objects

    return new_bucket


def use_bucket(settings, endpoint, bucket):
    """Make ``bucket`` the default storage, as settings.py does for MEDIA_BUCKET."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "region_name": REGION,
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    assert type(default_storage._wrapped).__name__ != "FileSystemStorage"


def picture(width, height):
    out = io.BytesIO()
    PIL.Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out, "PNG")
    return SimpleUploadedFile("Pulley Diagram.png", out.getvalue())


def test_the_settings_put_uploads_in_the_bucket_the_environment_names(endpoint, new_bucket):
    bucket, objects = new_bucket()
    environment = {
        **os.environ,
        "MEDIA_BUCKET": bucket,
        "MEDIA_BUCKET_ENDPOINT_URL": endpoint,
        "MEDIA_BUCKET_REGION": REGION,
        "MEDIA_BUCKET_PREFIX": "site",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    store = (
        "from django.core.files.base import ContentFile; "
        "from django.core.files.storage import default_storage as s; "
        "print(s.save('images/probe.txt', ContentFile(b'x')))"
    )
    for _ in range(2):  # the second save of the name gets another: nothing is overwritten
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", store],
            cwd=PROJECT_ROOT,
            env=environment,
            check=True,
            capture_output=True,
        )
    names = objects()
    assert len(names) == 2 and "site/images/probe.txt" in names, names


@pytest.mark.django_db
def test_images_pages_export_import_and_backups_work_on_object_storage(
    settings, endpoint, new_bucket, sample_site, tmp_path
):
    bucket, objects = new_bucket()
    use_bucket(settings, endpoint, bucket)
    checked = images.check_upload(picture(1200, 800))
    image = Image.objects.create(
        file=images.store(checked), alt_text="A pulley", width=1200, height=800
    )
    images.store_renditions(image.file.name)
    own = parse_name(image.file.name)
    files = sorted([own.name, *(own.rendition_name(w) for w in own.rendition_widths)])
    assert objects() == files and len(files) == 3

    article = Article.objects.get(slug="how-do-you-expand-a-perfect-square")
    article.answer = f"{image.markdown}\n\n{article.answer}"
    article.save()  # the save checks that storage holds the image
    page = article.answer_html
    assert 'width="1200" height="800"' in page and 'srcset="' in page

    out = tmp_path / "export"
    export_articles(Article.objects.all(), out)
    for name in files:
        assert (out / "uploads" / name).is_file()

    # An import of the export into an empty site on another bucket brings the images back.
    backup = tmp_path / "site.images.tar"
    assert backup_images(backup) == 3
    Article.objects.all().delete()
    Subject.objects.all().delete()
    Image.objects.all().delete()
    other, other_objects = new_bucket()
    use_bucket(settings, endpoint, other)
    report = import_paths([out], workers=1)
    assert report.errors == [] and report.images == 1
    stored = other_objects()
    assert [name for name in stored if name.startswith("images/")] == files
    # The subjects made anew drew their share cards into the bucket too.
    assert any(name.startswith("cards/") for name in stored)
    assert Article.objects.get(slug=article.slug).answer_html == page

    # A backup's images go back into a bucket that lost them.
    third, third_objects = new_bucket()
    use_bucket(settings, endpoint, third)
    assert restore_images(backup) == 3
    assert third_objects() == files
    with default_storage.open(own.name) as stream:
        assert PIL.Image.open(stream).size == (1200, 800)


@pytest.mark.django_db
def test_an_uploaded_import_is_read_from_the_bucket_and_its_files_deleted_after(
    settings, endpoint, new_bucket, sample_site
):
    bucket, objects = new_bucket()
    use_bucket(settings, endpoint, bucket)
    user = User.objects.create_user("edna")
    source = FIXTURES / "learn" / "mathematics"
    path = sorted(source.glob("*.md"))[0]
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    article_import = create([upload], user)
    assert objects() == [article_import.files[0]["stored"]]

    summary = run(article_import.pk, "check", workers=1)
    article_import.refresh_from_db()
    assert article_import.status == ArticleImport.Status.CHECKED, summary
    assert article_import.check_report["files"] == 1

    delete_files(article_import)
    assert objects() == []
