"""``manage.py create_editor USERNAME [--publisher]``: make a user an editor (staff, in the
Editors group), or with ``--publisher`` a publisher (in the Publishers group too).

Creates the user when it does not exist, asking for a password unless ``--no-input``; an
existing user keeps its password. It never grants superuser status.
"""

import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

GROUP_NAME = "Editors"
PUBLISHERS = "Publishers"


class Command(BaseCommand):
    help = "Make USERNAME an editor: staff status and membership of the Editors group."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="For a new user.")
        parser.add_argument(
            "--publisher",
            action="store_true",
            help="Also in the Publishers group: may publish, unpublish and schedule.",
        )
        parser.add_argument(
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for a password; a new user then has none until "
            "`manage.py changepassword USERNAME`.",
        )

    def handle(self, username, email, interactive, publisher=False, **options):
        names = [GROUP_NAME, PUBLISHERS] if publisher else [GROUP_NAME]
        groups = list(Group.objects.filter(name__in=names))
        if len(groups) != len(names):
            missing = sorted(set(names) - {group.name for group in groups})
            raise CommandError(
                f"The {' and '.join(missing)} group is missing: run `manage.py migrate` first."
            )
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        created = user is None
        if created:
            user = User(**{User.USERNAME_FIELD: username}, email=email)
            if interactive:
                user.set_password(self._ask_password(user))
            else:
                user.set_unusable_password()
        user.is_staff = True
        with transaction.atomic():
            user.save()
            user.groups.add(*groups)
        self.stdout.write(
            f"{'Created' if created else 'Updated'} {username}: staff, in the "
            f"{' and '.join(names)} group{'s' if len(names) > 1 else ''}."
        )
        if not user.has_usable_password():
            self.stdout.write(f"Set a password with: manage.py changepassword {username}")

    def _ask_password(self, user):
        while True:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The passwords differ.")
                continue
            try:
                validate_password(password, user)
            except ValidationError as error:
                self.stderr.write(" ".join(error.messages))
                continue
            return password
