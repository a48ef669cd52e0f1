"""Review before publishing: the article's review state, drafts of live articles, and the
"Publishers" group.

Publishers hold what Editors hold and the permission to publish, unpublish and schedule
(``publish_article``); Editors submit articles for review. Made like the Editors group
(0003): the permissions are created first when the database is fresh.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models


GROUP_NAME = "Publishers"

PERMISSIONS = {
    "article": ("view", "add", "change", "delete", "publish"),
    "relatedlink": ("view", "add", "change", "delete"),
    "subject": ("view", "change"),
}


def create_publishers_group(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate): make this app's
    # now (idempotent), with the project's own registry put back after, as 0003 does.
    app_config = apps.get_app_config("articles")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = True
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    finally:
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    wanted = [f"{action}_{model}" for model, actions in PERMISSIONS.items() for action in actions]
    wanted.append("import_articles")  # "can import articles" (0008), as Editors
    permissions = Permission.objects.using(db).filter(
        content_type__app_label="articles", codename__in=wanted
    )
    missing = set(wanted) - {permission.codename for permission in permissions}
    if missing:
        raise RuntimeError(f"Permissions not found for the Publishers group: {sorted(missing)}")
    group.permissions.add(*permissions)


def delete_publishers_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0008_article_import"),
        ("articles", "0003_editors_group"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="article",
            options={
                "ordering": ["-date", "question"],
                "permissions": [
                    ("import_articles", "Can import articles"),
                    ("publish_article", "Can publish, unpublish and schedule articles"),
                ],
            },
        ),
        migrations.AddField(
            model_name="article",
            name="review",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "None asked"),
                    ("submitted", "Waiting for review"),
                    ("approved", "Published by a publisher"),
                    ("changes", "Changes asked for"),
                ],
                db_index=True,
                default="",
                editable=False,
                help_text="Where the article stands in review: an editor submits it, a publisher publishes it or asks for changes.",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="review_note",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="The publisher's note.",
                max_length=500,
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="submitted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="article",
            name="submitted_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="Who last submitted the article for review.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.CreateModel(
            name='ArticleDraft',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('values', models.JSONField(help_text="The draft's fields, as text.")),
                ('version', models.PositiveIntegerField(help_text="The article's version it was saved at.")),
                ('saved_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('article', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='draft', to='articles.article')),
                ('saved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['saved_at'],
            },
        ),
        migrations.RunPython(create_publishers_group, delete_publishers_group),
    ]
