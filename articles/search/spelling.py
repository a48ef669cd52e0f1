"""Spelling, for "Did you mean": words folded as the vocabulary holds them, and a query's
rare words corrected to a common neighbour (best_correction, suggest). Reads the vocabulary
only through a backend's vocabulary() and neighbours(); it never writes the index.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from articles.search.query import _WORD, STOP_WORDS, Clause, positive_words

#: The vocabulary suggestions are drawn from, on both databases (migration 0007): each
#: word as written (lower case, accents removed) and how many articles hold it. A snapshot,
#: refreshed by refresh_vocabulary() after imports and rebuilds.
TERM_TABLE = "articles_search_term"

#: Suggestions: a query finding fewer results than this has its words checked against the
#: vocabulary; a word of SUGGEST_MIN_LENGTH letters or more held by fewer than SUGGEST_RARE
#: articles is replaced by the most common word at most max_edits() edits away (a letter
#: added, dropped, changed or two neighbours swapped) held by SUGGEST_RATIO times as many
#: articles.
SUGGEST_BELOW = 3
SUGGEST_RARE = 3
SUGGEST_RATIO = 10
SUGGEST_MIN_LENGTH = 4


def fold(word):
    """A word as the vocabulary holds it: lower case, accents removed (é -> e, ß stays)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def max_edits(word):
    """Edits a suggestion may be away from ``word``: one for words up to five letters,
    two above (a typo in a short word soon makes another word)."""
    return 1 if len(word) <= 5 else 2


def vocabulary_query(words):
    """``(sql, params)`` reading, for each folded word of ``words``, the vocabulary's terms
    with its first letter and a length within max_edits of its own (the word itself among
    them when the vocabulary holds it), as rows ``(word, term, documents)``. The same SQL
    on SQLite and PostgreSQL."""
    selects, params = [], []
    for word in words:
        edits = max_edits(word)
        # Only words a suggestion may be (held by SUGGEST_RARE articles or more) and the
        # word itself: most of the vocabulary is words held by one article.
        selects.append(
            f"SELECT %s, term, documents FROM {TERM_TABLE} WHERE term >= %s AND term < %s "
            "AND length(term) BETWEEN %s AND %s AND (documents >= %s OR term = %s)"
        )
        params += [
            word,
            word[0],
            chr(ord(word[0]) + 1),
            len(word) - edits,
            len(word) + edits,
            SUGGEST_RARE,
            word,
        ]
    return " UNION ALL ".join(selects), params


def grouped_by_word(rows):
    """``(word, term, documents)`` rows -> ``{word: [(term, documents), …]}``."""
    found = {}
    for word, term, documents in rows:
        found.setdefault(word, []).append((term, documents))
    return found


@dataclass(frozen=True)
class Suggestion:
    """A query with its rare words corrected: ``text`` to show and link (the reader's
    words, corrected ones replaced), ``clauses`` to search, ``words`` the
    {typed: corrected} pairs."""

    text: str
    clauses: list
    words: dict


def best_correction(word, documents, candidates):
    """The vocabulary word to offer instead of ``word`` (folded), or None.

    ``documents``: how many articles hold ``word`` itself. ``candidates``: (term,
    documents) pairs from the vocabulary. A word held by SUGGEST_RARE or more articles is
    kept; otherwise the candidate at most max_edits(word) edits away (optimal string
    alignment: a swap of neighbours is one edit) held by the most articles wins, fewer
    edits first, provided it holds SUGGEST_RATIO times as many articles as ``word``."""
    if documents >= SUGGEST_RARE or len(word) < SUGGEST_MIN_LENGTH or word.isdigit():
        return None
    limit = max_edits(word)
    best = None
    for term, count in candidates:
        if term == word or count < max(SUGGEST_RARE, SUGGEST_RATIO * documents):
            continue
        distance = OSA.distance(word, term, score_cutoff=limit)
        if distance > limit:
            continue
        key = (distance, -count, term)
        if best is None or key < best[0]:
            best = (key, term)
    return best[1] if best else None


def suggest(backend, text, clauses):
    """A Suggestion for the query ``text`` (cleaned) parsed as ``clauses``, or None when
    every word is common enough or has no better neighbour. One query (the vocabulary),
    on PostgreSQL two when a word is unknown and has no neighbour of its first letter."""
    words = [
        w
        for w in dict.fromkeys(fold(w) for w in positive_words(clauses))
        if len(w) >= SUGGEST_MIN_LENGTH and not w.isdigit() and w not in STOP_WORDS
    ]
    if not words:
        return None
    found = backend.vocabulary(words)
    corrections, unknown = {}, []
    for word in words:
        documents = next((n for term, n in found.get(word, ()) if term == word), 0)
        better = best_correction(word, documents, found.get(word, ()))
        if better is not None:
            corrections[word] = better
        elif documents == 0:
            unknown.append(word)
    if unknown:
        # A word unknown with no neighbour of its own first letter: its first letter may be
        # the typo (PostgreSQL looks further, by trigrams; one more query).
        for word, candidates in backend.neighbours(unknown).items():
            better = best_correction(word, 0, candidates)
            if better is not None:
                corrections[word] = better
    if not corrections:
        return None
    corrected = [
        Clause(tuple(corrections.get(fold(w), w) for w in c.words), c.negated, c.or_next)
        for c in clauses
    ]
    shown = _WORD.sub(lambda m: corrections.get(fold(m[0]), m[0]), text)
    return Suggestion(shown, corrected, corrections)
