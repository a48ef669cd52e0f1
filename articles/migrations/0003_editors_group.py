"""The "Editors" group: what a member of the editorial team needs in the admin, no more.

Articles and their related links: view, add, change, delete. Subjects: view and change
(listing, order, titles; adding or deleting a subject is an administrator's job). History
and revert need no permission of their own: django-reversion's admin checks the model's.
"""
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Editors"

PERMISSIONS = {
    "article": ("view", "add", "change", "delete"),
    "relatedlink": ("view", "add", "change", "delete"),
    "subject": ("view", "change"),
}


def create_editors_group(apps, schema_editor):
    # Permissions are normally made after all migrations (post_migrate); on a fresh
    # database they do not exist yet, so make this app's now. Both calls are idempotent.
    # Called with the project's own registry (tests do), put its models module back after.
    app_config = apps.get_app_config("articles")
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = True
    try:
        create_permissions(
            app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias
        )
    finally:
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    group, _ = Group.objects.using(db).get_or_create(name=GROUP_NAME)
    wanted = [
        f"{action}_{model}" for model, actions in PERMISSIONS.items() for action in actions
    ]
    permissions = Permission.objects.using(db).filter(
        content_type__app_label="articles", codename__in=wanted
    )
    found = {permission.codename for permission in permissions}
    missing = set(wanted) - found
    if missing:
        raise RuntimeError(f"Permissions not found for the Editors group: {sorted(missing)}")
    group.permissions.add(*permissions)


def delete_editors_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0002_canonical_redirects_publishing"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_editors_group, delete_editors_group)]
