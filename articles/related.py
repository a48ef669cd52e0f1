"""Suggested related questions: for every article, the most similar articles readers may
see, found from the search index's text (question, titles and keywords) and stored as
RelatedSuggestion rows, at the end of an import and when an article is saved.

Pages only read the stored rows (``related_questions``); no similarity is computed per
request. Visibility comes from articles.querysets; cross-posted copies from
articles.canonical's choice, which must be made before suggestions are computed.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import Counter
from dataclasses import dataclass

from django.db import OperationalError, connections, router, transaction
from django.db.models import Q

from articles import search
from articles.addresses import article_path
from articles.caching import SITE, invalidate, path_tag
from articles.models import Article, RelatedSuggestion, SearchDocument, SearchTerm
from articles.workers import parallel_map

#: Suggestions stored per article: the page shows at most five related questions, and a
#: few spare ones stand in for suggestions that are linked already or hidden since.
SUGGESTIONS = 6
#: The related questions a page shows.
RELATED_SHOWN = 5
#: A word held by more articles than this (anywhere: the vocabulary's count) says too
#: little about a question to find similar ones by ("process", "analysis"); it still
#: counts in the similarity of the candidates found through rarer words.
COMMON_WORD = 400
#: Candidates are found through an article's rarest words, at most this many of them...
FINDING_WORDS = 6
#: ... and only the ones sharing the most of those words are scored in full.
CANDIDATES = 12
#: Below this cosine similarity two questions have little more than a word in common.
MIN_SCORE = 0.05
#: A word of the question or titles weighs this much more than one of the keywords only.
QUESTION_WEIGHT = 2.0
#: Candidates looked at beyond CANDIDATES, for the article itself and its copies.
GROUP_MARGIN = 8
#: Articles ranked per task of compute_all's workers; below two slices, no worker starts.
RANK_SLICE = 1000
#: Keys per query (IN lists) when the suggestions are read and deleted.
WRITE_BATCH = 2000
#: Rows per INSERT (four parameters each).
INSERT_ROWS = 1000
#: How many times the import's write of every suggestion is tried when PostgreSQL ends it
#: as the victim of a deadlock (SQLSTATE 40P01), and the pause before each retry, seconds.
DEADLOCK_ATTEMPTS = 3
DEADLOCK_PAUSE = 0.2


@dataclass
class SuggestionReport:
    """``articles``: articles looked at; ``with_suggestions``: those given at least one;
    ``changed``: articles whose stored suggestions were rewritten; ``elapsed``: seconds."""

    articles: int = 0
    with_suggestions: int = 0
    changed: int = 0
    elapsed: float = 0.0


def terms(question, titles, keywords):
    """{word: weight before idf}: the folded words (articles.search.fold) of an article's
    question and titles (QUESTION_WEIGHT) and keywords (1), without stop words, one-letter
    words and numbers, split as the index splits them."""
    found = {}
    for word in search.words(_fold(keywords or "")):
        if len(word) > 1 and word not in search.STOP_WORDS and not word.isdigit():
            found[word] = 1.0
    for word in search.words(_fold(f"{question} {titles}")):
        if len(word) > 1 and word not in search.STOP_WORDS and not word.isdigit():
            found[word] = QUESTION_WEIGHT
    return found


def _fold(text):
    # search.fold decomposes every character; most of the corpus is ASCII, which only
    # needs lower case (the same result, without the per-character work).
    return text.lower() if text.isascii() else search.fold(text)


class _Vectors:
    """Articles as idf-weighted word vectors, with their norms. ``documents``: {word:
    articles holding it} from the search vocabulary; ``total``: articles indexed."""

    def __init__(self, documents, total):
        self.documents = documents
        self.total = max(total, 1)
        self.vectors = {}
        self.norms = {}
        self._idf = {}

    def idf(self, word):
        weight = self._idf.get(word)
        if weight is None:
            weight = self._idf[word] = math.log(1 + self.total / self.documents.get(word, 1))
        return weight

    def add(self, pk, question, titles, keywords):
        idf = self.idf
        vector = {
            word: weight * idf(word) for word, weight in terms(question, titles, keywords).items()
        }
        self.vectors[pk] = vector
        self.norms[pk] = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        return vector

    def finding_words(self, pk):
        """The article's words candidates are found through: the FINDING_WORDS rarest
        ones held by at most COMMON_WORD articles and by another one than itself, rarest
        first (ties by the word)."""
        rare = [w for w in self.vectors[pk] if 1 < self.documents.get(w, 1) <= COMMON_WORD]
        rare.sort(key=lambda w: (self.documents.get(w, 1), w))
        return rare[:FINDING_WORDS]

    def best(self, pk, candidates):
        """The SUGGESTIONS most similar of ``candidates`` (ids, best first), as
        [(score, id)], cosine similarity of at least MIN_SCORE, best first (ties: lower id)."""
        vector, norm = self.vectors[pk], self.norms[pk]
        words = vector.keys()
        scored = []
        for other in candidates:
            theirs = self.vectors[other]
            dot = sum([vector[w] * theirs[w] for w in words & theirs.keys()])
            score = dot / (norm * self.norms[other])
            if score >= MIN_SCORE:
                scored.append((round(score, 6), -other))
        return [(score, -neg) for score, neg in heapq.nlargest(SUGGESTIONS, scored)]


def _vocabulary(alias, words=None):
    """{word: articles holding it} from the search vocabulary (all of it, or ``words``)."""
    terms_ = SearchTerm.objects.using(alias)
    if words is None:
        return dict(terms_.values_list("term", "documents"))
    words, found = sorted(words), {}
    for start in range(0, len(words), WRITE_BATCH):
        chunk = words[start : start + WRITE_BATCH]
        found.update(terms_.filter(term__in=chunk).values_list("term", "documents"))
    return found


def _eligible(alias):
    """Ids of the articles a suggestion may name: readers may see them, each cross-posted
    article once (articles.querysets)."""
    return Article.objects.using(alias).published().one_per_article()


def _eligible_among(alias, ids):
    """The ids of ``ids`` that _eligible() holds."""
    ids, found = sorted(ids), set()
    for start in range(0, len(ids), WRITE_BATCH):
        chunk = ids[start : start + WRITE_BATCH]
        found.update(_eligible(alias).filter(pk__in=chunk).values_list("pk", flat=True))
    return found


def _groups(alias, ids=None):
    """{id: the id of its cross-posted group's canonical copy (its own when canonical)}."""
    rows = Article.objects.using(alias).order_by()
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    return {pk: canonical or pk for pk, canonical in rows.values_list("pk", "canonical_id")}


def _index_text(alias, ids=None):
    """(id, question, titles, keywords) of indexed articles (all, or ``ids``), read from
    the search index's own text."""
    if connections[alias].vendor == "sqlite":
        table, key = search.FTS_TABLE, "rowid"
    else:
        table, key = SearchDocument._meta.db_table, "article_id"
    sql = f"SELECT {key}, question, title, keywords FROM {table}"
    with connections[alias].cursor() as cursor:
        if ids is None:
            cursor.execute(sql)
            return cursor.fetchall()
        ids, rows = sorted(ids), []
        for start in range(0, len(ids), WRITE_BATCH):
            chunk = ids[start : start + WRITE_BATCH]
            cursor.execute(f"{sql} WHERE {key} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            rows += cursor.fetchall()
        return rows


def _candidates_holding(alias, words):
    """Ids of indexed articles whose question, titles or keywords may hold any of
    ``words``: a superset, from the index (the caller checks the words themselves)."""
    if not words:
        return []
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            expression = (
                "{question title keywords} : ("
                + " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
                + ")"
            )
            cursor.execute(
                f"SELECT rowid FROM {search.WORDS_TABLE} WHERE {search.WORDS_TABLE} MATCH %s",
                [expression],
            )
        else:
            cursor.execute(
                f"SELECT article_id FROM {SearchDocument._meta.db_table} "
                "WHERE document @@ to_tsquery(%s::regconfig, %s)",
                [search.PG_CONFIG, " | ".join(f"'{w}'" for w in words)],
            )
        return [pk for (pk,) in cursor.fetchall()]


def compute_all(using=None):
    """Compute and store every article's suggestions. Reads the whole index's question,
    titles and keywords once and the vocabulary once; candidates come from an inverted
    list of the words in memory, so the cost grows with the articles, not their square
    (on the corpus a few seconds). Writes only the articles whose suggestions changed.
    Run after canonical copies are chosen and the vocabulary refreshed. Returns a
    SuggestionReport."""
    started = time.perf_counter()
    alias = using or router.db_for_write(Article)
    rows = _index_text(alias)
    vectors = _Vectors(_vocabulary(alias), len(rows))
    eligible = set(_eligible(alias).values_list("pk", flat=True))
    groups = _groups(alias)
    holding = {}
    for pk, question, titles, keywords in sorted(rows):
        vector = vectors.add(pk, question, titles, keywords)
        if pk in eligible:
            for word in vector:
                holding.setdefault(word, []).append(pk)
    # Ranking is most of the time: forked workers share the tables above (copy on write)
    # and rank a slice of the articles each.
    global _ranking
    _ranking = (vectors, holding, groups)
    try:
        pks = list(vectors.vectors)
        slices = [pks[start : start + RANK_SLICE] for start in range(0, len(pks), RANK_SLICE)]
        found = dict(
            pair
            for ranked in parallel_map(_rank_slice, slices, min_items=2, chunksize=1)
            for pair in ranked
        )
    finally:
        _ranking = None
    report = _store_retrying(alias, found)
    report.elapsed = time.perf_counter() - started
    return report


#: What compute_all's ranking workers read: (_Vectors, {word: [id]}, {id: group}).
_ranking = None


def _rank_slice(pks):
    """[(id, suggestions)] for these articles (see _Vectors.best), from ``_ranking``."""
    vectors, holding, groups = _ranking
    ranked = []
    for pk in pks:
        counts = Counter()
        for word in vectors.finding_words(pk):
            counts.update(holding.get(word, ()))
        group = groups.get(pk, pk)
        candidates = [
            other
            for other, _ in counts.most_common(CANDIDATES + GROUP_MARGIN)
            if other != pk and groups.get(other, other) != group
        ][:CANDIDATES]
        ranked.append((pk, vectors.best(pk, candidates)))
    return ranked


def _store_retrying(alias, found):
    """_store, tried again when the database ended it to break a deadlock: the write
    refers to every article at once, so a writer of a few of them (an editor deleting
    one) can meet it in the other order. Nothing was written by the attempt that failed."""
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            return _store(alias, found)
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != "40P01" or (
                attempt == DEADLOCK_ATTEMPTS
            ):
                raise
            time.sleep(DEADLOCK_PAUSE * attempt)


def compute_for(article_ids, using=None):
    """Compute and store the suggestions of these articles only (an editor's save): the
    same result compute_all gives them, from the index and the vocabulary as they are.
    A few queries per article. Returns a SuggestionReport."""
    alias = using or router.db_for_write(Article)
    ids = list(dict.fromkeys(article_ids))
    own = {row[0]: row for row in _index_text(alias, ids)}
    if not own:
        return SuggestionReport()
    words = {w for _, q, t, k in own.values() for w in terms(q, t, k)}
    # Every article is indexed: the count of the index's rows compute_all works from.
    vectors = _Vectors(_vocabulary(alias, words), Article.objects.using(alias).count())
    for pk, question, titles, keywords in own.values():
        vectors.add(pk, question, titles, keywords)
    found = {}
    for pk in own:
        finding = vectors.finding_words(pk)
        superset = set(_candidates_holding(alias, finding)) - {pk}
        superset = _eligible_among(alias, superset)
        texts = _index_text(alias, superset)
        vectors.documents.update(
            _vocabulary(alias, {w for _, q, t, k in texts for w in terms(q, t, k)})
        )
        counts = {}
        rank = {word: index for index, word in enumerate(finding)}
        for other, question, titles, keywords in texts:
            theirs = vectors.add(other, question, titles, keywords)
            shared = [rank[w] for w in finding if w in theirs]
            if shared:
                counts[other] = (-len(shared), min(shared), other)
        groups = _groups(alias, [pk, *counts])
        group = groups.get(pk, pk)
        ranked = sorted(
            (other for other in counts if groups.get(other, other) != group),
            key=counts.__getitem__,
        )[:CANDIDATES]
        found[pk] = vectors.best(pk, ranked)
    return _store(alias, found)


def _store(alias, found):
    """Write ``found`` ({article id: [(score, suggested id)], best first}), replacing the
    stored rows of the articles whose list changed. One transaction."""
    report = SuggestionReport(articles=len(found))
    report.with_suggestions = sum(1 for best in found.values() if best)
    stored = {}
    for article_id, suggested_id in (
        RelatedSuggestion.objects.using(alias)
        .filter(**({} if len(found) > WRITE_BATCH else {"article_id__in": list(found)}))
        .order_by("article_id", "rank")
        .values_list("article_id", "suggested_id")
    ):
        stored.setdefault(article_id, []).append(suggested_id)
    changed = [
        pk for pk, best in found.items() if stored.get(pk, []) != [other for _, other in best]
    ]
    report.changed = len(changed)
    if not changed:
        return report
    table = RelatedSuggestion._meta.db_table
    rows = [
        (pk, other, rank, score)
        for pk in changed
        for rank, (score, other) in enumerate(found[pk], start=1)
    ]
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        for start in range(0, len(changed), WRITE_BATCH):
            chunk = changed[start : start + WRITE_BATCH]
            cursor.execute(
                f"DELETE FROM {table} WHERE article_id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
        columns = "article_id, suggested_id, rank, score"
        if connections[alias].vendor == "postgresql":
            # COPY: on the corpus (190,000 rows) 4 s faster than multi-row INSERTs.
            # psycopg's own COPY: its errors (a deadlock's too) are wrapped as Django's.
            with (
                connections[alias].wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            rows = []
        # Plain INSERTs of many rows each: a model instance per row cost more than
        # computing it.
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )
    _mark_pages(alias, changed)
    return report


#: Past this many articles whose suggestions changed, every page is marked stale instead
#: of each being named (an import of a whole site).
MAX_NAMED_PAGES = 20_000


def _mark_pages(alias, ids):
    """Mark stale the pages of the articles ``ids``: the related questions they show
    changed. One query a WRITE_BATCH articles."""
    if len(ids) > MAX_NAMED_PAGES:
        invalidate({SITE})
        return
    tags = set()
    for start in range(0, len(ids), WRITE_BATCH):
        rows = Article._base_manager.using(alias).filter(pk__in=ids[start : start + WRITE_BATCH])
        tags.update(
            path_tag(article_path(*row)) for row in rows.values_list("subject__slug", "slug")
        )
    invalidate(tags)


@dataclass(frozen=True)
class RelatedQuestion:
    """One entry of an article page's related questions: ``article`` (with its subject)
    to link to, or None with only ``title`` (a link that leads nowhere readers may go);
    ``suggested`` when it comes from the suggestions, not the article's own links."""

    title: str
    article: Article | None = None
    suggested: bool = False


def related_questions(article, links):
    """What an article page lists under "Related questions", at most RELATED_SHOWN: the
    article's own links readers can follow, in order; then its stored suggestions readers
    may see now, best first, not linked already; then, while there is room, the titles of
    its links that lead nowhere. ``links``: its RelatedLink rows with their targets (and
    the targets' subjects) loaded. One query when suggestions are needed, else none."""
    followable = [link for link in links if link.target is not None and link.target.is_published]
    shown = [RelatedQuestion(link.target.question, link.target) for link in followable]
    room = RELATED_SHOWN - len(shown)
    if room > 0:
        linked = {link.target_id for link in links if link.target_id is not None}
        # Copies were left out when the suggestions were computed; a group changed since
        # (a move, an editor's save) must not show the article twice either.
        group = article.canonical_id or article.pk
        suggested = (
            Article.objects.published()
            .filter(suggested_for__article=article)
            .exclude(Q(pk__in=linked) | Q(pk=article.pk) | Q(pk=group) | Q(canonical=group))
            .select_related("subject")
            .only("slug", "question", "subject__slug")
            .order_by("suggested_for__rank")[:room]
        )
        shown += [RelatedQuestion(other.question, other, suggested=True) for other in suggested]
    for link in links:
        if len(shown) >= RELATED_SHOWN:
            break
        if link not in followable:
            shown.append(RelatedQuestion(link.title))
    return shown[:RELATED_SHOWN]
