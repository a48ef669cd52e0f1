"""The image library: its table, and its permissions for the Editors and Publishers groups
(view, add, change, delete), made here as 0003 makes the Editors' (permissions are
normally made after all migrations)."""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

GROUPS = ("Editors", "Publishers")
CODENAMES = ("view_image", "add_image", "change_image", "delete_image")


def grant_image_permissions(apps, schema_editor):
    """Idempotent; tests call it again after a flush."""
    app_config = apps.get_app_config("articles")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = True
    try:
        create_permissions(
            app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias
        )
    finally:
        app_config.models_module = models_module
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.using(db).filter(
            content_type__app_label="articles", codename__in=CODENAMES
        )
    )
    if len(permissions) != len(CODENAMES):
        raise RuntimeError("The image permissions were not made")
    for name in GROUPS:
        group, _ = Group.objects.using(db).get_or_create(name=name)
        group.permissions.add(*permissions)


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0010_related_suggestions'),
        ('auth', '0012_alter_user_first_name_max_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Image',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('file', models.FileField(help_text='PNG, JPEG, WebP or GIF (not SVG), at most 10 MB. Renditions for narrower screens are made once, on upload; the file cannot be replaced later.', max_length=255, unique=True, upload_to='')),
                ('alt_text', models.CharField(help_text="What the picture shows, for readers who cannot see it (screen readers, images off). Pasted into the answer's Markdown with the address.", max_length=300)),
                ('width', models.PositiveIntegerField(editable=False, help_text='In pixels.')),
                ('height', models.PositiveIntegerField(editable=False, help_text='In pixels.')),
                ('uploaded_at', models.DateTimeField(auto_now_add=True)),
                ('uploaded_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-uploaded_at', '-pk'],
                'indexes': [models.Index(fields=['-uploaded_at'], name='image_uploaded_at')],
            },
        ),
        migrations.RunPython(grant_image_permissions, migrations.RunPython.noop),
    ]
