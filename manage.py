#!/usr/bin/env python
"""Django's command-line utility for QuickTakes Learn."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quicktakes.settings")
    # Imported once the settings module is named.
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    from quicktakes.startup import load_settings  # noqa: PLC0415

    load_settings()

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
