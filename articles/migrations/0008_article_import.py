"""Imports in the admin: the "can import articles" permission on Article, given to the
Editors group, and the ArticleImport rows that hold each upload's reports.
"""

from django.contrib.auth.management import create_permissions
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

GROUP_NAME = "Editors"


def grant_import_permission(apps, schema_editor):
    """Give the Editors group "can import articles" (made here: permissions are normally
    made after all migrations). Idempotent; tests call it again after a flush."""
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
    permission = Permission.objects.using(db).get(
        content_type__app_label="articles", codename="import_articles"
    )
    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    group.permissions.add(permission)


def revoke_import_permission(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.using(schema_editor.connection.alias).filter(
        content_type__app_label="articles", codename="import_articles"
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0007_search_vocabulary'),
        ("articles", "0003_editors_group"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='article',
            options={'ordering': ['-date', 'question'], 'permissions': [('import_articles', 'Can import articles')]},
        ),
        migrations.CreateModel(
            name='ArticleImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('updated', models.DateTimeField(auto_now=True)),
                ('status', models.CharField(choices=[('checking', 'checking (dry run)'), ('checked', 'checked: waiting for confirmation'), ('applying', 'importing'), ('applied', 'imported'), ('cancelled', 'cancelled'), ('failed', 'failed')], default='checking', max_length=16)),
                ('files', models.JSONField(default=list, help_text='The uploaded files: their names, sizes and names in storage (removed once the import is applied or cancelled).')),
                ('size', models.PositiveBigIntegerField(default=0, help_text='Bytes uploaded, all files.')),
                ('task_id', models.CharField(blank=True, default='', help_text='The background job (Tasks API result id) of the step under way, if any.', max_length=64)),
                ('check_report', models.JSONField(blank=True, help_text="The dry run's report.", null=True)),
                ('apply_report', models.JSONField(blank=True, help_text="The import's report.", null=True)),
                ('error', models.TextField(blank=True, default='', help_text='Why it failed.')),
                ('applied_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created'],
                'default_permissions': (),
            },
        ),
        migrations.RunPython(grant_import_permission, revoke_import_permission),
    ]
