"""Finding what to import: files, folders searched for ``*.md``, and .zip / .tar.gz archives
extracted into temporary folders (SourceFile, collect_files), with the images of their
``uploads/`` folders (upload_name). Reads the file system only: it never parses a file
and never touches the database.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from articles.frontmatter import MAX_FILE_BYTES, FrontMatterError
from articles.images import MAX_UPLOAD_BYTES
from articles.rendering.images import EXTENSIONS

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
#: At most this many members are read from one archive (the corpus has 36,000 files).
MAX_ARCHIVE_MEMBERS = 200_000
#: At most this many bytes are extracted from one archive, all members together.
MAX_ARCHIVE_BYTES = 4 * 1024**3
#: Chunk size of every read from an archive (bytes).
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """A file to import: where to read it, and the path recorded on its article.

    ``source_path`` is the file's absolute path; for a member of an archive it is the
    archive's absolute path followed by the member's path inside it, as if the archive
    were a folder, so ``--prune`` can tell which articles came from it. ``label`` names
    the file in messages: the path as given, or the archive's then the member's (never
    the temporary folder a member is extracted to).
    """

    path: Path
    source_path: str
    label: str = ""

    def __str__(self):
        return self.label or str(self.path)


#: The folder of an export that holds the images its answers show (articles.exporting).
UPLOADS = "uploads"
_IMAGE_SUFFIXES = tuple(f".{ext}" for ext in EXTENSIONS.values())


def upload_name(member):
    """A path inside a folder or archive (``/``-separated) -> the storage name an image of
    its ``uploads/`` folder had when exported (the part after ``uploads/``), or None when
    it is not an image under an ``uploads`` folder."""
    parts = member.replace("\\", "/").split("/")
    if UPLOADS not in parts[:-1] or not parts[-1].lower().endswith(_IMAGE_SUFFIXES):
        return None
    return "/".join(parts[parts.index(UPLOADS) + 1 :])


def _limit(name):
    return MAX_UPLOAD_BYTES if upload_name(name) is not None else MAX_FILE_BYTES


def _is_archive(path):
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


class _Budget:
    """What an archive may still hold: members and bytes, checked before any read."""

    def __init__(self, archive):
        self.archive = archive
        self.members = 0
        self.bytes = 0

    def admit(self, name, size):
        """Count one member of ``size`` declared bytes; FrontMatterError when over a limit."""
        self.members += 1
        self.bytes += size
        if self.members > MAX_ARCHIVE_MEMBERS:
            raise FrontMatterError(
                self.archive, f"more than {MAX_ARCHIVE_MEMBERS} files in the archive"
            )
        if self.bytes > MAX_ARCHIVE_BYTES:
            raise FrontMatterError(
                self.archive,
                f"the archive's files add up to more than {MAX_ARCHIVE_BYTES} bytes "
                f"(at {name!r}); split it",
            )


def _member_target(archive, into, name):
    target = (into / name).resolve()
    if not target.is_relative_to(into.resolve()) or name.startswith(("/", "\\")):
        raise FrontMatterError(archive, f"member {name!r} leaves the archive")
    return target


def _copy_capped(stream, target, label, size, limit=MAX_FILE_BYTES):
    """Copy at most ``limit`` bytes from ``stream`` to ``target``, whatever ``size`` said."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as out:
        while chunk := stream.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                break
            out.write(chunk)
    if written > limit:
        target.unlink()
        raise FrontMatterError(label, f"the file is larger than {limit} bytes (the limit)")


def _too_large(label, size, limit=MAX_FILE_BYTES):
    return FrontMatterError(label, f"the file is {size} bytes; the limit is {limit}")


def _extract(archive, into, label, errors):
    """Extract the ``*.md`` members of a .zip or .tar.gz, and the images under its
    ``uploads`` folder (at most MAX_UPLOAD_BYTES each), into ``into``, bounded.

    Sizes come from the archive's directory (zip) or each member's header (tar) before
    anything is read, and every read is capped at MAX_FILE_BYTES, so a member that
    claims less than it holds is cut off too. A member over the limit is appended to
    ``errors`` (named inside the archive) and the rest go on; in a .tar.gz, whose members
    can only be reached by decompressing the ones before, reading stops there. Raises
    FrontMatterError when the archive cannot be read, a member would leave ``into``, or
    the archive exceeds MAX_ARCHIVE_MEMBERS or MAX_ARCHIVE_BYTES.
    Returns ``{extracted path: member name}``.
    """
    budget = _Budget(label)
    members = {}
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                infos = [i for i in zipped.infolist() if not i.is_dir()]
                for info in infos:
                    _member_target(label, into, info.filename)
                for info in infos:
                    if not _wanted(info.filename):
                        continue
                    member_label = f"{label}{os.sep}{info.filename}"
                    limit = _limit(info.filename)
                    if info.file_size > limit:
                        errors.append(_too_large(member_label, info.file_size, limit))
                        continue
                    budget.admit(info.filename, info.file_size)
                    target = _member_target(label, into, info.filename)
                    try:
                        with zipped.open(info) as stream:
                            _copy_capped(stream, target, member_label, info.file_size, limit)
                    except FrontMatterError as error:
                        errors.append(error)
                        continue
                    members[target] = info.filename
        else:
            with tarfile.open(archive, "r|gz") as tarred:
                for info in tarred:
                    if not info.isfile() or not _wanted(info.name):
                        continue
                    member_label = f"{label}{os.sep}{info.name}"
                    target = _member_target(label, into, info.name)
                    limit = _limit(info.name)
                    if info.size > limit:
                        errors.append(_too_large(member_label, info.size, limit))
                        errors.append(
                            FrontMatterError(
                                label,
                                f"not read past {info.name!r}, which is too large; the "
                                "files after it in the archive were not imported",
                            )
                        )
                        break
                    budget.admit(info.name, info.size)
                    _copy_capped(tarred.extractfile(info), target, member_label, info.size, limit)
                    members[target] = info.name
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise FrontMatterError(label, f"cannot read the archive: {error}") from None
    return members


def check_archive(archive, label=None):
    """Check a .zip archive from its directory alone, before anything is extracted: the
    limits _extract applies to the whole archive (MAX_ARCHIVE_MEMBERS, MAX_ARCHIVE_BYTES,
    members that would leave it). Members over MAX_FILE_BYTES are not refused here: the
    import reports each and goes on with the rest. ``label`` names the archive in messages
    (default: its path). Returns the number of ``*.md`` members; raises FrontMatterError.
    """
    archive = Path(archive)
    label = label or str(archive)
    budget = _Budget(label)
    into = Path(tempfile.gettempdir()) / "import-check"
    try:
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if info.is_dir():
                    continue
                _member_target(label, into, info.filename)
                if info.filename.lower().endswith(".md") and info.file_size <= MAX_FILE_BYTES:
                    budget.admit(info.filename, info.file_size)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise FrontMatterError(label, f"cannot read the archive: {error}") from None
    return budget.members


def _wanted(name):
    return name.lower().endswith(".md") or upload_name(name) is not None


def collect_files(paths, stack=None, errors=None, uploads=None):
    """Expand files, folders (recursively, ``*.md``) and .zip / .tar.gz archives.

    Returns ``(files, roots)``: SourceFile objects in a stable order, and the
    source_path prefixes of the folders and archives given (for prune). Archives are
    extracted into temporary folders that live as long as ``stack`` (an ExitStack).
    Archive members refused on their own (too large) are appended to ``errors`` (a list;
    raised when None). Raises FrontMatterError for a path that does not exist or an
    archive that cannot be read or is over its limits.
    """
    files, roots = [], []
    raise_errors = errors is None
    errors = [] if errors is None else errors
    for path in map(Path, paths):
        if path.is_dir():
            root = path.resolve()
            roots.append(f"{root}{os.sep}")
            files.extend(
                SourceFile(p, str(p.resolve())) for p in sorted(path.rglob("*.md")) if p.is_file()
            )
            if uploads is not None and (path / UPLOADS).is_dir():
                for p in sorted((path / UPLOADS).rglob("*")):
                    name = upload_name(p.relative_to(path).as_posix())
                    if name is not None and p.is_file():
                        uploads.append(SourceFile(p, name, str(p)))
        elif _is_archive(path):
            if stack is None:
                raise FrontMatterError(path, "archives can only be imported by import_paths")
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="import-")))
            members = _extract(path, folder, str(path), errors)
            logical = path.resolve()
            roots.append(f"{logical}{os.sep}")
            for p, name in sorted(members.items(), key=lambda item: item[1]):
                stored = upload_name(name)
                if stored is None:
                    files.append(SourceFile(p, f"{logical}{os.sep}{name}", f"{path}{os.sep}{name}"))
                elif uploads is not None:
                    uploads.append(SourceFile(p, stored, f"{path}{os.sep}{name}"))
        elif path.is_file():
            files.append(SourceFile(path, str(path.resolve())))
        else:
            raise FrontMatterError(path, "no such file or folder")
    if raise_errors and errors:
        raise errors[0]
    return files, roots
