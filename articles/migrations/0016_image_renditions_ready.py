"""Image.renditions_ready: renditions are made by a background job after the upload; the
images stored before it have theirs already (True)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0015_source_path_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="image",
            name="renditions_ready",
            field=models.BooleanField(
                default=True,
                editable=False,
                help_text="False from the upload until the background job has stored the renditions its name promises (articles.tasks.make_image_renditions).",
            ),
        ),
        # Rows added from now on say it themselves.
        migrations.AlterField(
            model_name="image",
            name="renditions_ready",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="False from the upload until the background job has stored the "
                "renditions its name promises (articles.tasks.make_image_renditions).",
            ),
        ),
        migrations.AlterField(
            model_name="image",
            name="file",
            field=models.FileField(
                help_text="PNG, JPEG, WebP or GIF (not SVG), at most 10 MB. Renditions for narrower screens are made once, by a background job after the upload; the file cannot be replaced later.",
                max_length=255,
                unique=True,
                upload_to="",
            ),
        ),
    ]
