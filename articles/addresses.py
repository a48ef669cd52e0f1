"""Site-relative addresses of the public pages, as plain strings.

Formatted rather than reversed where they are computed in bulk (every cross-posted copy on
each canonical recomputation, every article of a moved subject); a test checks they match
the URLconf. Knows no model and no database.
"""

from django.urls import reverse


def article_path(subject_slug, slug):
    """``/learn/<subject>/questions/<slug>``: an article's address, the corpus's ``url``."""
    return f"/learn/{subject_slug}/questions/{slug}"


def subject_path(subject_slug):
    """``/learn/<subject>``: a subject's list of questions."""
    return reverse("articles:subject", kwargs={"subject": subject_slug})


def subject_feed_path(subject_slug):
    """``/learn/<subject>/feed.xml``: a subject's RSS feed."""
    return reverse("articles:subject_feed", kwargs={"subject": subject_slug})
