"""What a search returns: SearchResults (lazy, paginated, with subject counts and "Did you
mean"), Hit and SubjectCount, the highlighted HTML of a hit, and the score bonuses both
backends rank by. It never builds SQL: the backend it is given runs the queries.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cached_property

from django.utils.safestring import SafeString, mark_safe

from articles.models import Article, Subject
from articles.search.spelling import SUGGEST_BELOW, suggest

# What a hit needs to be shown: the article's and its subject's columns.
_HIT_ARTICLE_COLUMNS = ("id", "subject_id", "slug", "question", "date", "date_format")
_HIT_SUBJECT_COLUMNS = ("id", "title", "slug")

#: Ranking: a hit's score (BM25 on SQLite, ts_rank_cd on PostgreSQL) is multiplied by one
#: plus the bonuses it earns, so they weigh the same whatever the query's own scale. The
#: words as a phrase in the question, anywhere, two of them side by side, all of them in
#: the question, all of them as typed (not only their stems), all close together.
#: Measured with bench_search's recall set (README, Benchmarks).
BONUS_PHRASE_IN_QUESTION = 1.0
BONUS_PHRASE = 2.0
BONUS_PAIR = 1.0
BONUS_ALL_IN_QUESTION = 1.5
BONUS_EXACT = 1.0
BONUS_NEAR = 0.3

#: Words in the snippet of an answer: one passage around the matches, on both backends
#: (a second PostgreSQL fragment costs a third more headline time for little).
SNIPPET_WORDS = 32

# Highlight markers: control characters never present in indexed text (plain_text removes
# them), swapped for <mark> only after everything else has been escaped.
_MARK_START, _MARK_END = "\x02", "\x03"
_MARKED = re.compile(f"{_MARK_START}(.*?){_MARK_END}", re.S)


def highlighted(text):
    """Text with highlight markers -> safe HTML: everything escaped, matches in <mark>."""
    escaped = html.escape(text or "", quote=False)
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(marked.replace(_MARK_START, "").replace(_MARK_END, ""))


@dataclass(frozen=True)
class Hit:
    """One result: the article (with its subject loaded), its question and a snippet of
    its answer as safe HTML with the matched words in <mark>, and its relevance score
    (higher is better; comparable only within one search)."""

    article: Article
    question_html: SafeString
    snippet_html: SafeString
    score: float


def _hit_article(alias, values):
    """An Article with its subject from a raw row: _HIT_ARTICLE_COLUMNS, then
    _HIT_SUBJECT_COLUMNS, as the ORM loads them with only() and select_related()."""
    split = len(_HIT_ARTICLE_COLUMNS)
    article = Article.from_db(alias, _HIT_ARTICLE_COLUMNS, values[:split])
    article.subject = Subject.from_db(alias, _HIT_SUBJECT_COLUMNS, values[split:])
    return article


@dataclass(frozen=True)
class SubjectCount:
    """How many results a subject holds for a search, for the subject filter."""

    id: int
    slug: str
    title: str
    count: int


class SearchResults:
    """The lazy result of ``search()``: works with Django's Paginator.

    ``count()`` is the number of hits (in the subject, if a slug was given); slicing gives a
    list of Hit, best first; ``subject_counts`` gives the hits per subject ignoring the
    subject filter. A cross-posted article is one hit, its canonical copy (unless
    ``copies``). Each costs a fixed number of queries whatever the number of hits: one
    more (the vocabulary) when fewer than SUGGEST_BELOW hits are found, and one more
    again when the query is searched corrected.

    ``suggestion``: a Suggestion when a rare word has a common neighbour in the
    vocabulary ("Did you mean …"), else None. ``corrected``: True when the query as typed
    found nothing and the results are the suggestion's.
    """

    def __init__(self, backend, clauses, subject=None, text="", copies=False):
        self.backend = backend
        self.typed_clauses = clauses
        self.subject = subject
        self.text = text
        self.copies = copies

    @cached_property
    def _resolved(self):
        """(clauses searched, subject counts, suggestion, corrected)."""
        clauses = self.typed_clauses
        if not clauses:
            return clauses, [], None, False
        rows = self.backend.subject_counts(clauses, self.copies)
        if sum(row.count for row in rows) >= SUGGEST_BELOW:
            return clauses, rows, None, False
        suggestion = suggest(self.backend, self.text, clauses)
        if suggestion is not None and not rows:
            corrected_rows = self.backend.subject_counts(suggestion.clauses, self.copies)
            if corrected_rows:
                return suggestion.clauses, corrected_rows, suggestion, True
            # The correction finds nothing either: offering it would only waste a click.
            suggestion = None
        return clauses, rows, suggestion, False

    @property
    def clauses(self):
        """The clauses searched: the typed ones, or the suggestion's when corrected."""
        return self._resolved[0] if self.typed_clauses else []

    @property
    def suggestion(self):
        return self._resolved[2]

    @property
    def corrected(self):
        return self._resolved[3]

    @cached_property
    def subject_counts(self):
        """SubjectCount per subject with hits, most hits first."""
        return sorted(self._resolved[1], key=lambda row: (-row.count, row.title))

    def count(self):
        if self.subject is None:
            return sum(row.count for row in self.subject_counts)
        return next((row.count for row in self.subject_counts if row.slug == self.subject), 0)

    def __len__(self):
        return self.count()

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("search results can only be sliced, e.g. results[0:20]")
        start, stop = key.start or 0, key.stop
        if not self.typed_clauses or (stop is not None and stop <= start):
            return []
        return self.backend.hits(self.clauses, self.subject, start, stop, self.copies)


def _visible(subject, copies=False):
    """Published articles (in the subject with slug ``subject``), each cross-posted
    article once, as its canonical copy, unless ``copies`` (a subject's own list)."""
    articles = Article.objects.published()
    if not copies:
        articles = articles.one_per_article()
    return articles if subject is None else articles.filter(subject__slug=subject)
