"""What a reader's words mean to the index: the text indexed for an article (_index_row),
and a raw query cleaned and parsed into clauses (clean_query, parse_query), split into
words as the index splits them. Pure functions: it never touches the database and knows
no backend's query language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from articles import plaintext

#: Longer queries are cut here: no reader types more, and it bounds the work per search.
MAX_QUERY_LENGTH = 200
#: Clauses past this many are ignored, for the same reason.
MAX_CLAUSES = 12
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")
# A clause: an optional minus, then a "quoted phrase" (closing quote optional) or a chunk.
_CLAUSE = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')

#: English function words dropped from queries: they carry no meaning of their own and
#: PostgreSQL's english configuration drops them too, so both backends agree.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your
    yours yourself yourselves
    """.split()
)


# --- indexed text ----------------------------------------------------------------------


#: Stored answer HTML -> the plain text that is indexed and shown in snippets, formulas as
#: linear text (articles.plaintext).
plain_text = plaintext.plain_text


def _index_row(article, answer_text=None):
    """(id, question, title, keywords, answer text) for one article; ``answer_text``: its
    answer's plain text when already made, else it is made from answer_html."""
    question = _CONTROL.sub(" ", article.question)
    # The corpus's title and article title equal its question; index them only when an
    # editor made them differ, so they add words, not weight.
    titles = dict.fromkeys(t for t in (article.title, article.article_title) if t)
    titles.pop(article.question, None)
    return (
        article.pk,
        question,
        _CONTROL.sub(" ", " ".join(titles)),
        _CONTROL.sub(" ", article.seo_keywords or ""),
        plain_text(article.answer_html) if answer_text is None else answer_text,
    )


# --- queries ---------------------------------------------------------------------------


def words(text):
    """The words of ``text`` as the index splits them: runs of letters and digits (any
    script); everything else separates."""
    return _WORD.findall(text)


def clean_query(raw):
    """A reader's raw ``q`` -> the text searched: control characters removed, whitespace
    collapsed, cut to MAX_QUERY_LENGTH characters. Never raises; ``None`` gives ``""``."""
    text = " ".join(_CONTROL.sub(" ", raw or "").split())
    return text[:MAX_QUERY_LENGTH].strip()


@dataclass(frozen=True)
class Clause:
    """One part of a query: ``words`` that must appear together, in order (one word, a
    "quoted phrase", or a chunk like ``long-term``); ``negated`` when it must not appear;
    ``or_next`` when it is an alternative to the clause after it."""

    words: tuple
    negated: bool = False
    or_next: bool = False


def parse_query(text):
    """Cleaned query text -> a list of Clause, in the spirit of ``websearch_to_tsquery``:
    words are all required, ``"…"`` is a phrase, ``-word`` excludes, ``or`` offers an
    alternative. Every other character (``*``, ``^``, ``:``, parentheses, ``NEAR``…) is
    plain text: punctuation separates words and operator names are words. Stop words
    alone are dropped. Returns ``[]`` when nothing searchable is left (no positive clause).
    """
    clauses = []
    for match in _CLAUSE.finditer(text):
        minus, phrase, chunk_minus, chunk = match.groups()
        negated = bool(minus or chunk_minus)
        if chunk is not None and chunk.lower() == "or" and not negated:
            if clauses and not clauses[-1].negated:
                clauses[-1] = Clause(clauses[-1].words, or_next=True)
            continue
        found = tuple(w.lower() for w in words(phrase if phrase is not None else chunk))
        if not found or (len(found) == 1 and found[0] in STOP_WORDS):
            continue
        clauses.append(Clause(found, negated))
    clauses = clauses[:MAX_CLAUSES]
    if clauses and clauses[-1].or_next:
        clauses[-1] = Clause(clauses[-1].words)
    if not any(not c.negated for c in clauses):
        return []
    return clauses


def positive_words(clauses):
    """The words of the clauses that must (or may) match, in order, without repeats."""
    return list(dict.fromkeys(w for c in clauses if not c.negated for w in c.words))
