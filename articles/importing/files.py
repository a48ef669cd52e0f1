"""Finding what to import: files, folders searched for ``*.md``, and .zip / .tar.gz archives
extracted into temporary folders (SourceFile, collect_files). Reads the file system only:
it never parses a file and never touches the database.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from articles.frontmatter import FrontMatterError

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class SourceFile:
    """A file to import: where to read it, and the path recorded on its article.

    ``source_path`` is the file's absolute path; for a member of an archive it is the
    archive's absolute path followed by the member's path inside it, as if the archive
    were a folder, so ``--prune`` can tell which articles came from it.
    """

    path: Path
    source_path: str


def _is_archive(path):
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _extract(archive, into):
    """Extract a .zip or .tar.gz safely into ``into``; members may not leave it."""
    try:
        if archive.name.lower().endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    target = (into / member).resolve()
                    if not target.is_relative_to(into.resolve()):
                        raise FrontMatterError(archive, f"member {member!r} leaves the archive")
                zipped.extractall(into)
        else:
            with tarfile.open(archive, "r:gz") as tarred:
                tarred.extractall(into, filter="data")
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as error:
        raise FrontMatterError(archive, f"cannot read the archive: {error}") from None


def collect_files(paths, stack=None):
    """Expand files, folders (recursively, ``*.md``) and .zip / .tar.gz archives.

    Returns ``(files, roots)``: SourceFile objects in a stable order, and the
    source_path prefixes of the folders and archives given (for prune). Archives are
    extracted into temporary folders that live as long as ``stack`` (an ExitStack).
    Raises FrontMatterError for a path that does not exist or an unreadable archive.
    """
    files, roots = [], []
    for path in map(Path, paths):
        if path.is_dir():
            root = path.resolve()
            roots.append(f"{root}{os.sep}")
            files.extend(
                SourceFile(p, str(p.resolve())) for p in sorted(path.rglob("*.md")) if p.is_file()
            )
        elif _is_archive(path):
            if stack is None:
                raise FrontMatterError(path, "archives can only be imported by import_paths")
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="import-")))
            _extract(path, folder)
            logical = path.resolve()
            roots.append(f"{logical}{os.sep}")
            files.extend(
                SourceFile(p, f"{logical}{os.sep}{p.relative_to(folder)}")
                for p in sorted(folder.rglob("*.md"))
                if p.is_file()
            )
        elif path.is_file():
            files.append(SourceFile(path, str(path.resolve())))
        else:
            raise FrontMatterError(path, "no such file or folder")
    return files, roots
