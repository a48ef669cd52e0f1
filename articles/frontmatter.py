"""Front matter files -> typed records. Pure: no database, no rendering (the answer's
nesting depth is measured, never rendered).

The format is the one the editors' previous CMS writes (see the corpus README): YAML
between two ``---`` lines, then a body (``&nbsp;`` in every corpus file). Parsing uses
PyYAML with libyaml's parser and a loader that keeps every value as the text written
(``FrontMatterLoader``), never one that builds Python objects. Every problem is one
``FrontMatterError`` naming file and line.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from articles.newlines import decode_answer
from articles.rendering import refused_images
from articles.rendering.nesting import MAX_NESTING_DEPTH, nesting_depth

try:
    from yaml.cyaml import CParser as _Parser
except ImportError:  # PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


#: Plain (unquoted) scalars that mean "no value", as YAML writes them.
NULLS = frozenset({"", "~", "null", "Null", "NULL"})


class FrontMatterLoader(_Parser, yaml.constructor.BaseConstructor, yaml.resolver.BaseResolver):
    """YAML loader for front matter: every scalar stays the text the file holds.

    PyYAML's safe loader follows YAML 1.1, whose implicit types rewrite unquoted text:
    ``10:00`` becomes 600, ``010`` 8, ``0x1F`` 31, ``3.10`` 3.1, ``1_000`` 1000. Here
    the only implicit value is null (an empty or ``~``/``null`` plain scalar -> None);
    every other scalar is a str, and the typed keys (``id``, ``date``, ``score``,
    ``no_index``) are validated by the parser. Explicit tags (``!!int``,
    ``!!python/object``) are refused. Built on libyaml's parser when PyYAML has it.
    A key written twice is refused with the line of the second.
    """

    def __init__(self, stream):
        _Parser.__init__(self, stream)
        yaml.constructor.BaseConstructor.__init__(self)
        yaml.resolver.BaseResolver.__init__(self)

    def resolve(self, kind, value, implicit):
        # BaseResolver's answer without its lookups: no implicit types, no path resolvers.
        # Called by libyaml's parser for every node.
        if kind is yaml.ScalarNode:
            return self.DEFAULT_SCALAR_TAG
        if kind is yaml.SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return self.DEFAULT_MAPPING_TAG

    def construct_object(self, node, deep=False):
        # Most nodes are plain text: built here at once, as construct_text would (a str is
        # immutable, so an alias to it needs no memo). Anything else takes the long way.
        if type(node) is yaml.ScalarNode and node.tag == self.DEFAULT_SCALAR_TAG:
            value = node.value
            return None if not node.style and value in NULLS else value
        return super().construct_object(node, deep)

    def construct_text(self, node):
        value = self.construct_scalar(node)
        if not node.style and value in NULLS:  # plain (style None, or "" from libyaml)
            return None
        return value

    def construct_list(self, node):
        return self.construct_sequence(node)

    def construct_map(self, node):
        # Compare the keys as written: no key is constructed twice.
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key_node.value)
        return self.construct_mapping(node)

    def refuse_tag(self, node):
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {node.tag!r} is not allowed", node.start_mark
        )


FrontMatterLoader.add_constructor("tag:yaml.org,2002:str", FrontMatterLoader.construct_text)
FrontMatterLoader.add_constructor("tag:yaml.org,2002:seq", FrontMatterLoader.construct_list)
FrontMatterLoader.add_constructor("tag:yaml.org,2002:map", FrontMatterLoader.construct_map)
FrontMatterLoader.add_constructor(None, FrontMatterLoader.refuse_tag)

# --------------------------------------------------------------------------- the CMS's shapes

#: Bytes of UTF-8 text that may stand in a line YAML reads as written: printable ASCII, the
#: line feed and every byte of a multi-byte character (those are looked at apart).
_PLAIN_BYTES = bytes([10, *range(32, 127), *range(128, 256)])
#: Characters beyond ASCII that YAML does not read as written, in UTF-8: the C1 controls,
#: the line breaks U+0085, U+2028 and U+2029, the byte-order mark, U+FFFE and U+FFFF.
_UNUSUAL_UTF8 = re.compile(rb"\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef(?:\xbb\xbf|\xbf[\xbe\xbf])")
#: First characters that make a value something other than plain text (YAML indicators:
#: quotes, block and flow collections, anchors, aliases, tags, comments, directives).
_INDICATORS = frozenset("?:,[]{}#&*!|>'\"%@`")


def _printable(text):
    """True when ``text`` holds no character that YAML reads otherwise than as written:
    controls (tab and carriage return included), other line breaks, byte-order marks.
    Works on the UTF-8 bytes, where C does the looking."""
    data = text.encode("utf-8", "surrogatepass")
    if data.translate(None, _PLAIN_BYTES):
        return False
    return data.isascii() or not _UNUSUAL_UTF8.search(data)


def read_simple_front_matter(yaml_text):
    """The map FrontMatterLoader builds from ``yaml_text``, read line by line, or None.

    Reads the shapes the editors' CMS writes (every corpus file but two, whose blocks end
    lines with a space): ``key: plain text``, ``key:`` alone (null), ``key: >-`` then a
    folded block of lines indented alike, and ``key:`` then one level of such entries
    indented alike (``seo``, the related links). Anything else (quotes, comments, lists,
    other block styles, blank lines inside a block, a key written twice, a plain value
    running onto the next line, a tab or another character YAML does not read as written)
    gives None, and the caller reads the text with FrontMatterLoader, which also names any
    error. Returns ``{key: str | None | {key: str | None}}`` in the file's order, every
    value free of control characters; two to three times faster than libyaml's parser
    with the loader. Linear in len(yaml_text).
    """
    if not _printable(yaml_text):
        return None
    result = {}
    into, level = result, 0  # the map entries go into, and their indentation
    opened = None  # the key of a `key:` line with no value: null, or a map follows
    folded = None  # [map, key, width, lines] of the `>-` block being read
    blank = False  # a blank line came since the last line read
    for line in yaml_text.split("\n"):
        text = line.lstrip(" ")
        if not text:
            if line and folded is not None:
                return None  # spaces in a block: content when longer than its indentation
            blank = True
            continue
        indent = len(line) - len(text)
        if folded is not None:
            if indent > level:
                if blank or indent != (folded[2] or indent) or text[-1] == " ":
                    return None  # a blank or more indented line inside it, trailing spaces
                folded[2] = indent
                folded[3].append(text)
                continue
            if not folded[3]:
                return None  # an empty block
            folded[0][folded[1]] = " ".join(folded[3])
            folded = None
        blank = False
        if opened is not None:
            if indent > level:
                if level:
                    return None  # a map inside a map
                into = result[opened] = {}
                level = indent
            else:
                into[opened] = None
            opened = None
        if indent != level:
            if indent > level or indent:
                return None  # a plain value running onto this line, or stray indentation
            into, level = result, 0  # the end of a map
        key, colon, value = text.partition(":")
        if (
            not (colon and key.isascii() and key.isidentifier())
            or value[:1] not in ("", " ")
            or key in into
            or key in NULLS
        ):
            return None  # not an entry, a key written twice, or a key that reads as null
        value = value.strip(" ")
        if value == ">-":
            folded = [into, key, 0, []]
        elif not value:
            opened = key
        elif (
            value[0] in _INDICATORS
            or (value[0] == "-" and value[1:2] in ("", " "))
            or ": " in value
            or " #" in value
            or value[-1] == ":"
        ):
            return None
        else:
            into[key] = None if value in NULLS else value
    if folded is not None:
        if not folded[3]:
            return None
        folded[0][folded[1]] = " ".join(folded[3])
    if opened is not None:
        into[opened] = None
    return result or None


#: Keys the model stores in fields of its own; everything else is kept in ``extra``.
KNOWN_KEYS = (
    "id",
    "date",
    "title",
    "article_title",
    "date_format",
    "post_on_text",
    "seo",
    "author",
    "question",
    "answer",
    "subject",
    "file_name",
    "url",
    "score",
    "related_article1",
    "related_article2",
    "related_article3",
    "related_article4",
    "related_article5",
    "no_index",
)
SEO_KEYS = ("title", "page_description", "page_keywords")
RELATED_KEYS = tuple(f"related_article{n}" for n in range(1, 6))
REQUIRED_KEYS = ("url", "question", "answer", "subject", "date")

#: ``/learn/<subject slug>/questions/<slug>``, the shape of every corpus ``url``.
#: Slugs are lower-case letters, digits and hyphens; hyphens may double (``ipo--fpo``)
#: where the CMS dropped a symbol between two words.
URL_RE = re.compile(r"^/learn/(?P<subject>[a-z0-9-]+)/questions/(?P<slug>[a-z0-9-]+)$")

#: Upper bounds of the model's columns (characters).
#: Keys are front matter names (``seo.title``, ``related.title`` for the maps' keys); the
#: values match the model's columns (a test checks it), so every database takes the row.
MAX_LENGTHS = {
    "title": 300,
    "article_title": 300,
    "question": 300,
    "slug": 255,
    "date_format": 50,
    "post_on_text": 100,
    "author": 200,
    "subject": 200,
    "file_name": 300,
    "seo.title": 300,
    "related.title": 300,
    "related.subject": 200,
    "related.url": 500,
}
#: Ids are stored in 64-bit integer columns.
MAX_ID = 2**63 - 1

#: Files larger than this are refused before parsing (bytes). The largest corpus file is
#: 7.8 KB, so this leaves room for any real answer while keeping a stray binary out.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: The longest answer accepted (characters), by the import, the admin's save and its
#: preview alike: 64 times the corpus's largest file, and rendered in well under a second.
MAX_ANSWER_CHARS = 500_000


class FrontMatterError(ValueError):
    """One file that cannot be imported: ``path``, 1-based ``line`` (or None), ``message``."""

    def __init__(self, path, message, line=None, key=None):
        self.path = str(path)
        self.line = line
        self.message = message
        self.key = key  # top-level key at fault, used to find the line when unknown
        super().__init__(str(self))

    def __reduce__(self):
        # Errors travel back from worker processes; pickle them with all their parts.
        return type(self), (self.path, self.message, self.line, self.key)

    def __str__(self):
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class RelatedRecord:
    position: int
    title: str
    url: str
    subject_name: str = ""
    source_id: int | None = None


@dataclass(frozen=True)
class ArticleRecord:
    """One parsed file. ``answer_raw`` is as written (newlines as backslash-n);
    ``answer`` is it decoded (articles.newlines), the Markdown the renderer takes."""

    path: str
    source_hash: str
    subject_slug: str
    slug: str
    subject_name: str
    source_id: int | None
    title: str
    article_title: str
    question: str
    answer_raw: str
    answer: str
    date: datetime.date
    date_format: str
    post_on_text: str
    author: str
    file_name: str
    seo_title: str
    seo_description: str
    seo_keywords: str
    score: float | None
    no_index: bool
    related: tuple[RelatedRecord, ...] = ()
    extra: dict = field(default_factory=dict)
    keys: tuple[str, ...] = ()
    body: str = ""

    @property
    def url(self):
        return f"/learn/{self.subject_slug}/questions/{self.slug}"


def _yaml_advice(problem, line_text):
    """What to do about a YAML error, from the problem and the offending line's text."""
    if "\t" in line_text:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "a value holding ': ' must be quoted or written as a folded block (>-)"
    if "cannot start any token" in problem:
        return "quote a value that starts with ` @ or another reserved character"
    if "duplicate key" in problem:
        return "keep one of the two"
    if "constructor" in problem or "tag" in problem:
        return "remove the tag: only plain YAML values are allowed"
    return ""


def _shares_containers(data):
    """True when one list or map is reachable twice (only anchors and aliases do that).

    Visits each container once, so it stays linear however large the alias expansion.
    """
    seen = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            if id(item) in seen:
                return True
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


def _first_alias_line(yaml_text, first_line):
    match = re.search(r"(^|[\s\[{,:-])\*[^\s,\]}]+", yaml_text, flags=re.MULTILINE)
    if not match:
        return None
    return (
        yaml_text.count("\n", 0, match.start()) + first_line + (1 if match.group(1) == "\n" else 0)
    )


def split_front_matter(text, path="<string>"):
    """Split a file's text into ``(yaml_text, body, first_yaml_line)``.

    ``first_yaml_line`` is the 1-based line number of the YAML's first line in the file,
    so YAML error marks can be reported as file lines. Raises FrontMatterError when the
    opening or closing ``---`` is missing.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise FrontMatterError(
            path, "the file must start with a '---' line opening the front matter", line=1
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), 2
    raise FrontMatterError(
        path, "no closing '---' line after the front matter; add one before the body", line=1
    )


def _text(data, key, path, required=False, default="", parent=None):
    value = data.get(key, default)
    name = f"{parent}.{key}" if parent else key
    if value is None:
        value = default
    if not isinstance(value, str):
        raise FrontMatterError(
            path, f"'{name}' must be text, not {type(value).__name__}", key=parent or key
        )
    if required and not value.strip():
        raise FrontMatterError(path, f"'{name}' is empty; it is required", key=parent or key)
    if parent is None:
        limit = MAX_LENGTHS.get(key)
    else:
        limit = MAX_LENGTHS.get(f"{'related' if parent.startswith('related') else parent}.{key}")
    if limit and len(value) > limit:
        raise FrontMatterError(
            path,
            f"'{name}' is {len(value)} characters long; the limit is {limit}",
            key=parent or key,
        )
    return value


def _key_line(yaml_text, key, first_line):
    """1-based file line of a top-level ``key:`` in the front matter, or None."""
    match = re.search(rf"^{re.escape(key)}\s*:", yaml_text, flags=re.MULTILINE)
    if not match:
        return None
    return yaml_text.count("\n", 0, match.start()) + first_line


_WHOLE_NUMBER_RE = re.compile(r"[-+]?[0-9]+")
_NUMBER_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_TRUE, _FALSE = frozenset({"true", "True", "TRUE"}), frozenset({"false", "False", "FALSE"})
#: YAML's timestamp forms (``2024-11-29``, ``2024-11-29T23:30:00+05:30``,
#: ``2024-11-29 23:30:00.5 -5``); anything after them is an error, not ignored.
_TIMESTAMP_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?)?"
)


def _int_or_none(value, key, path):
    """A whole number written in decimal (``id``), or None when empty."""
    top = key.split(".")[0]
    if value is None:
        return None
    if not isinstance(value, str) or not _WHOLE_NUMBER_RE.fullmatch(value.strip()):
        raise FrontMatterError(
            path, f"'{key}' must be a whole number in decimal digits, not {value!r}", key=top
        )
    number = int(value)
    if abs(number) > MAX_ID:
        raise FrontMatterError(path, f"'{key}' is too large for an id: {value!r}", key=top)
    return number


def _score(value, path):
    """A decimal number (``-1.0``, ``3``, ``2.5e1``), or None when empty."""
    if value is None:
        return None
    if not isinstance(value, str) or not _NUMBER_RE.fullmatch(value.strip()):
        raise FrontMatterError(
            path, f"'score' must be a number such as -1.0, not {value!r}", key="score"
        )
    return float(value)


def _boolean(value, key, path):
    """``true`` or ``false`` (any case YAML allows); None when absent."""
    if value is None:
        return False
    if isinstance(value, str) and value.strip() in _TRUE:
        return True
    if isinstance(value, str) and value.strip() in _FALSE:
        return False
    raise FrontMatterError(path, f"'{key}' must be true or false, not {value!r}", key=key)


def _date(value, path):
    """``YYYY-MM-DD``, or a YAML timestamp whose date part is taken as written."""
    text = value.strip() if isinstance(value, str) else ""
    match = _TIMESTAMP_RE.fullmatch(text)
    if not match:
        raise FrontMatterError(
            path, f"'date' must be a date written as YYYY-MM-DD, not {value!r}", key="date"
        )
    try:
        day = datetime.date(int(match["year"]), int(match["month"]), int(match["day"]))
        if match["hour"] is not None:
            datetime.time(int(match["hour"]), int(match["minute"]), int(match["second"]))
    except ValueError as error:
        raise FrontMatterError(
            path, f"'date' {value!r} does not exist: {error}", key="date"
        ) from None
    return day


def _related(data, path):
    links = []
    for position, key in enumerate(RELATED_KEYS, start=1):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise FrontMatterError(
                path, f"'{key}' must be a map with id, title, subject and url", key=key
            )
        url = value.get("url")
        if not isinstance(url, str) or not url.strip():
            raise FrontMatterError(path, f"'{key}' has no url", key=key)
        if len(url.strip()) > MAX_LENGTHS["related.url"]:
            raise FrontMatterError(
                path,
                f"'{key}.url' is longer than {MAX_LENGTHS['related.url']} characters",
                key=key,
            )
        links.append(
            RelatedRecord(
                position=position,
                title=_text(value, "title", path, parent=key),
                url=url.strip(),
                subject_name=_text(value, "subject", path, parent=key),
                source_id=_int_or_none(value.get("id"), f"{key}.id", path),
            )
        )
    return tuple(links)


def parse_bytes(data, path="<string>"):
    """Parse one file's bytes into an ArticleRecord.

    ``data``: the file's bytes, UTF-8 (a byte-order mark is accepted). Raises
    FrontMatterError for anything that cannot become an article: not UTF-8, no front
    matter, invalid YAML (with its line), unsafe tags, a missing or mistyped field.
    """
    if len(data) > MAX_FILE_BYTES:
        raise FrontMatterError(
            path, f"the file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}"
        )
    source_hash = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise FrontMatterError(
            path,
            f"bytes that are not UTF-8 at offset {error.start}; save the file as UTF-8",
            line=line,
        ) from None
    yaml_text, body, first_line = split_front_matter(text, path)
    data_map = read_simple_front_matter(yaml_text)
    if data_map is not None:
        return _record(data_map, yaml_text, first_line, path, source_hash, body, checked=True)
    try:
        data_map = yaml.load(yaml_text, Loader=FrontMatterLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + first_line if mark is not None else None
        if line is None and isinstance(error, yaml.reader.ReaderError):
            # The reader reports a character position instead of a mark.
            line = yaml_text.count("\n", 0, error.position) + first_line
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        bad_line = yaml_text.splitlines()[mark.line] if mark is not None else ""
        message = f"invalid YAML: {problem}"
        advice = _yaml_advice(problem, bad_line)
        if advice:
            message += f"; {advice}"
        raise FrontMatterError(path, message, line=line) from None
    if not isinstance(data_map, dict):
        raise FrontMatterError(
            path, "the front matter must be a map of keys to values", line=first_line
        )
    if _shares_containers(data_map):
        # Anchors and aliases let a few lines expand into billions of items (an "alias
        # bomb") as soon as anything walks the data; no corpus file uses them.
        raise FrontMatterError(
            path,
            "YAML anchors and aliases (&name / *name) are not allowed; write the values out",
            line=_first_alias_line(yaml_text, first_line),
        )
    return _record(data_map, yaml_text, first_line, path, source_hash, body)


def _record(data_map, yaml_text, first_line, path, source_hash, body, checked=False):
    try:
        return record_from_mapping(
            data_map, path=path, source_hash=source_hash, body=body, checked=checked
        )
    except FrontMatterError as error:
        if error.line is None and error.key:
            error.line = _key_line(yaml_text, error.key, first_line)
        raise


#: C0 and C1 control characters other than tab, line feed and carriage return: YAML's
#: double-quoted escapes (``"\v"``, ``"\f"``, ``"\x1b"``) can write them, and no text
#: shown to a reader may hold them.
CONTROL_CHARACTERS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _refuse_control_characters(data, path):
    """FrontMatterError naming the key and character when any text value holds one."""
    for key, value in data.items():
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str):
                match = CONTROL_CHARACTERS_RE.search(item)
                if match:
                    raise FrontMatterError(
                        path,
                        f"'{key}' holds the control character U+{ord(match.group()):04X}; "
                        "remove it",
                        key=str(key),
                    )


def typed_values(data):
    """A copy of a loaded front matter map with the typed keys as values: ``id`` and the
    related links' ids int, ``date`` a date, ``score`` float, ``no_index`` bool. Values
    that do not parse are kept as written. For comparing two files' meaning."""

    def convert(function, *args):
        try:
            return function(*args, "<compare>")
        except FrontMatterError:
            return args[0]

    result = dict(data)
    if "id" in result:
        result["id"] = convert(_int_or_none, result["id"], "id")
    if "date" in result:
        result["date"] = convert(_date, result["date"])
    if "score" in result:
        result["score"] = convert(_score, result["score"])
    if "no_index" in result:
        result["no_index"] = convert(_boolean, result["no_index"], "no_index")
    for key in RELATED_KEYS:
        if isinstance(result.get(key), dict) and "id" in result[key]:
            link = dict(result[key])
            link["id"] = convert(_int_or_none, link["id"], f"{key}.id")
            result[key] = link
    return result


def record_from_mapping(data, path="<string>", source_hash="", body="", checked=False):
    """Validate a loaded front matter map and build an ArticleRecord (see parse_bytes).

    ``data``: the map FrontMatterLoader gives (str, None, list and dict values only).
    ``checked``: the values are known to hold no control character (read_simple_front_matter
    refuses text holding one), so they are not looked through again.
    """
    if not checked:
        _refuse_control_characters(data, path)
    missing = [key for key in REQUIRED_KEYS if key not in data or data[key] in (None, "")]
    if missing:
        raise FrontMatterError(path, f"missing required field(s): {', '.join(missing)}")
    url = data["url"]
    if not isinstance(url, str):
        raise FrontMatterError(path, f"'url' must be text, not {type(url).__name__}", key="url")
    match = URL_RE.match(url.strip())
    if not match:
        raise FrontMatterError(
            path,
            f"'url' must look like /learn/<subject>/questions/<slug> in lower case, not {url!r}",
            key="url",
        )
    if len(match["slug"]) > MAX_LENGTHS["slug"]:
        raise FrontMatterError(
            path, f"the slug is longer than {MAX_LENGTHS['slug']} characters", key="url"
        )
    seo = data.get("seo") or {}
    if not isinstance(seo, dict):
        raise FrontMatterError(
            path, "'seo' must be a map with title, page_description, page_keywords", key="seo"
        )
    answer = data["answer"]
    if not isinstance(answer, str):
        raise FrontMatterError(
            path, f"'answer' must be text, not {type(answer).__name__}", key="answer"
        )
    if len(answer) > MAX_ANSWER_CHARS:
        raise FrontMatterError(
            path,
            f"'answer' is {len(answer)} characters long; the limit is {MAX_ANSWER_CHARS}",
            key="answer",
        )
    decoded = decode_answer(answer)
    depth = nesting_depth(decoded)
    if depth > MAX_NESTING_DEPTH:
        raise FrontMatterError(
            path,
            f"'answer' nests {depth} levels deep (lists, block quotes, brackets); "
            f"the limit is {MAX_NESTING_DEPTH}: flatten it",
            key="answer",
        )
    refused = refused_images(decoded)
    if refused:
        raise FrontMatterError(path, f"'answer': {refused[0]}", key="answer")
    score = _score(data.get("score"), path)
    no_index = _boolean(data.get("no_index"), "no_index", path)

    extra = {key: value for key, value in data.items() if key not in KNOWN_KEYS}
    seo_extra = {key: value for key, value in seo.items() if key not in SEO_KEYS}
    if seo_extra:
        extra["seo"] = seo_extra
    question = _text(data, "question", path, required=True)
    title = _text(data, "title", path) or question
    return ArticleRecord(
        path=str(path),
        source_hash=source_hash,
        subject_slug=match["subject"],
        slug=match["slug"],
        subject_name=_text(data, "subject", path, required=True).strip(),
        source_id=_int_or_none(data.get("id"), "id", path),
        title=title,
        article_title=_text(data, "article_title", path),
        question=question,
        answer_raw=answer,
        answer=decoded,
        date=_date(data["date"], path),
        date_format=_text(data, "date_format", path) or "MMM DD, YYYY",
        post_on_text=_text(data, "post_on_text", path) or "Posted on",
        author=_text(data, "author", path),
        file_name=_text(data, "file_name", path),
        seo_title=_text(seo, "title", path, parent="seo"),
        seo_description=_text(seo, "page_description", path, parent="seo"),
        seo_keywords=_text(seo, "page_keywords", path, parent="seo"),
        score=score,
        no_index=no_index,
        related=_related(data, path),
        extra=extra,
        keys=tuple(data.keys()),
        body=body,
    )


def parse_file(path):
    """Read and parse one file (see parse_bytes). OSError becomes FrontMatterError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FrontMatterError(path, f"cannot read the file: {error.strerror}") from None
    return parse_bytes(data, path)
