from django import template

from articles.dates import format_date

register = template.Library()


@register.filter
def moment_date(value, pattern):
    """``{{ article.date|moment_date:article.date_format }}`` -> ``Nov 29, 2024``."""
    if not value:
        return ""
    return format_date(value, pattern)
