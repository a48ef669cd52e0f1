"""The worker side of an import: read, hash, parse, decode and render one file into a
PreparedArticle. Runs in forked worker processes, so it must never touch the database; what
it knows of the database (the hashes imported before) comes in through init_worker.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass

from articles import plaintext, rendering
from articles.frontmatter import (
    MAX_FILE_BYTES,
    ArticleRecord,
    FrontMatterError,
    _key_line,
    parse_bytes,
    split_front_matter,
)
from articles.images import missing_images

logger = logging.getLogger(__name__)

#: Article fields an import sets from a file, compared to decide "updated" vs "unchanged".
IMPORTED_FIELDS = (
    "source_id",
    "title",
    "article_title",
    "question",
    "answer",
    "date",
    "date_format",
    "post_on_text",
    "author",
    "subject_name",
    "file_name",
    "seo_title",
    "seo_description",
    "seo_keywords",
    "score",
    "no_index",
    "extra_front_matter",
    "front_matter_keys",
    "body",
)
LINK_FIELDS = ("position", "title", "url", "subject_name", "source_id")


@dataclass(frozen=True)
class PreparedArticle:
    """A parsed file with its answer decoded and rendered, ready to write."""

    record: ArticleRecord
    source_path: str
    answer: str
    answer_html: str
    renderer_version: int
    #: The answer as the search index holds it (articles.plaintext), made here in the
    #: worker rather than in the process that writes.
    answer_text: str | None = None

    def field_values(self):
        r = self.record
        return {
            "source_id": r.source_id,
            "title": r.title,
            "article_title": r.article_title,
            "question": r.question,
            "answer": self.answer,
            "date": r.date,
            "date_format": r.date_format,
            "post_on_text": r.post_on_text,
            "author": r.author,
            "subject_name": r.subject_name,
            "file_name": r.file_name,
            "seo_title": r.seo_title,
            "seo_description": r.seo_description,
            "seo_keywords": r.seo_keywords,
            "score": r.score,
            "no_index": r.no_index,
            # Dates and other YAML scalars must survive a JSON column.
            "extra_front_matter": json.loads(json.dumps(r.extra, default=str)),
            "front_matter_keys": list(r.keys),
            "body": r.body,
        }

    def link_values(self):
        return [tuple(getattr(link, name) for name in LINK_FIELDS) for link in self.record.related]


_known_hashes: frozenset = frozenset()


def init_worker(known_hashes):
    """Runs once in each worker: the SHA-256 of every file imported before."""
    global _known_hashes
    _known_hashes = known_hashes


def read_capped(path, name):
    """The bytes of the file at ``path``; its size is checked before it is read.

    Raises FrontMatterError (naming ``name``) when it cannot be read or holds more than
    MAX_FILE_BYTES."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise FrontMatterError(
                    name, f"the file is {size} bytes; the limit is {MAX_FILE_BYTES}"
                )
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise FrontMatterError(name, f"cannot read the file: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise FrontMatterError(name, f"the file is larger than {MAX_FILE_BYTES} bytes")
    return data


def prepare_file(source):
    """Read, parse, decode and render one SourceFile.

    Returns ``("unchanged", source, sha256)`` when its bytes match a file imported
    before (nothing is parsed), ``("ok", source, PreparedArticle)`` or
    ``("error", source, FrontMatterError)``.
    """
    name = str(source)
    try:
        data = read_capped(source.path, name)
    except FrontMatterError as error:
        return "error", source, error
    digest = hashlib.sha256(data).hexdigest()
    if digest in _known_hashes:
        return "unchanged", source, digest
    try:
        record = parse_bytes(data, name)
        answer = record.answer
        missing = missing_images(answer)
        if missing:
            yaml_text, _, first_line = split_front_matter(data.decode("utf-8-sig"), name)
            line = _key_line(yaml_text, "answer", first_line)
            raise FrontMatterError(name, f"'answer': {missing[0]}", line=line)
        result = rendering.render_markdown(answer)
    except FrontMatterError as error:
        return "error", source, error
    except Exception as error:  # a renderer bug must not stop the batch
        logger.exception("rendering %s failed", name)
        return (
            "error",
            source,
            FrontMatterError(
                name, f"could not render the answer ({error!r}); please report this file"
            ),
        )
    prepared = PreparedArticle(
        record,
        source.source_path,
        answer,
        result.html,
        rendering.RENDERER_VERSION,
        plaintext.plain_text(result.html),
    )
    return "ok", source, prepared
