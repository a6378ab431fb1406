"""Reading the source archive, a local folder or an fsspec URL: listing files and reading them safely."""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from transforms.raw import RawFile
from transforms.reasons import Reason
from warehouse.storage import is_remote
from warehouse.tables import LISTING_SCHEMA


def _unreadable(rel: str, size: int, why: str) -> RawFile:
    return RawFile(rel, size, None, None, Reason.UNREADABLE, why)


def _too_large(rel: str, size: int, max_bytes: int) -> RawFile:
    return RawFile(rel, size, None, None, Reason.TOO_LARGE, f"{size} bytes > --max-file-bytes {max_bytes}")


def path_text(name: str) -> str:
    """A file name as text that any reader can store: the bytes that are not UTF-8 (os gives them
    as surrogates) written as \\xNN, so that such a file still becomes a row or a record."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")
    return name


_ESCAPED_BYTE = re.compile(rb"\\x([0-9a-f]{2})")


def fs_name(rel: str) -> str:
    """The file system's name of a path that path_text escaped (the inverse, for reading it)."""
    raw = _ESCAPED_BYTE.sub(lambda m: bytes([int(m.group(1), 16)]), rel.encode("utf-8"))
    return os.fsdecode(raw)


class SourceUnlisted(PermissionError):
    """A folder of the source could not be listed: its files would look deleted, so the run stops."""


def _unlisted(folder: str, exc: OSError) -> SourceUnlisted:
    return SourceUnlisted(
        exc.errno,
        f"cannot list {folder!r} in the source ({exc.strerror or exc}): nothing was changed, since its "
        "files would look deleted; make it readable, or move it out of the source to delete its rows",
    )


def _each_entry(scan: Iterator[os.DirEntry[str]], rel_dir: str) -> Iterator[os.DirEntry[str]]:
    """A folder's entries one at a time (a folder of a million files held as DirEntry objects
    cost 300 MB); a folder that cannot be read to its end is unlisted."""
    try:
        yield from scan
    except OSError as exc:
        raise _unlisted(rel_dir or "./", exc) from None


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return not name.startswith(".") and any(fnmatch.fnmatch(name, p) for p in patterns)


class Source:
    """Where raw article files live. Paths handed around are relative to the root, POSIX style.

    Local symlink policy: symlinked folders are not followed; a symlinked file is read only if
    it resolves inside the root (otherwise it is quarantined as unreadable).
    """

    def __init__(
        self, location: str | os.PathLike[str], storage_options: dict[str, Any] | None = None
    ) -> None:
        self.location = str(location)
        self.remote = is_remote(self.location)
        if self.remote:
            import fsspec  # for object storage only: a local source is read with os

            self.fs, base = fsspec.core.url_to_fs(self.location, **(storage_options or {}))
            self.base = base.rstrip("/")
        else:
            self.root = Path(self.location).resolve()
            self._root_path = str(self.root)

    def listed(self, patterns: tuple[str, ...]) -> list[tuple[str, int, int]]:
        """(relative path, size, mtime_ns) of every matching file, sorted by path."""
        if self.remote:
            return self._listed_remote(patterns)
        return sorted(zip(*self._listed_local(patterns), strict=True))

    def listing(self, patterns: tuple[str, ...]) -> pl.DataFrame:
        """The same as a frame (LISTING_SCHEMA), sorted by path: what a run plans from."""
        if self.remote:
            return pl.DataFrame(self._listed_remote(patterns), schema=LISTING_SCHEMA, orient="row")
        paths, sizes, mtimes = self._listed_local(patterns)
        return pl.DataFrame([paths, sizes, mtimes], schema=LISTING_SCHEMA).sort("source_path")

    def _listed_local(self, patterns: tuple[str, ...]) -> tuple[list[str], list[int], list[int]]:
        if not self.root.is_dir():
            raise NotADirectoryError(f"source {self.location} is not a folder")
        wanted = re.compile("|".join(fnmatch.translate(p) for p in patterns))
        paths: list[str] = []
        sizes: list[int] = []
        mtimes: list[int] = []
        folders = [("", str(self.root))]
        while folders:  # os.scandir: one stat per entry, no Path objects (100k files in well under a second)
            rel_dir, folder = folders.pop()
            try:
                scan = os.scandir(folder)
            except FileNotFoundError:
                continue  # removed while the run lists: its files are deleted indeed
            except OSError as exc:
                raise _unlisted(rel_dir or "./", exc) from None
            with scan:
                for entry in _each_entry(scan, rel_dir):
                    if entry.name.startswith("."):
                        continue
                    rel = f"{rel_dir}{path_text(entry.name)}"
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append((rel + "/", entry.path))
                        elif wanted.match(entry.name):
                            st = entry.stat(follow_symlinks=False)
                            paths.append(rel)
                            sizes.append(st.st_size)
                            mtimes.append(st.st_mtime_ns)
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        raise _unlisted(rel, exc) from None
        return paths, sizes, mtimes

    def _listed_remote(self, patterns: tuple[str, ...]) -> list[tuple[str, int, int]]:
        try:
            found = self.fs.find(self.base, detail=True)
        except FileNotFoundError:
            raise NotADirectoryError(f"source {self.location} does not exist") from None
        out: list[tuple[str, int, int]] = []
        prefix = self.base + "/"
        for path, info in found.items():
            rel = path[len(prefix) :] if path.startswith(prefix) else path
            if info.get("type") != "file" or any(part.startswith(".") for part in rel.split("/")[:-1]):
                continue
            if not _matches(rel.rsplit("/", 1)[-1], patterns):
                continue
            modified = info.get("LastModified") or info.get("mtime") or info.get("last_modified")
            mtime_ns = (
                int(modified.timestamp() * 1e9)
                if hasattr(modified, "timestamp")
                else int(float(modified or 0) * 1e9)
            )
            etag = str(info.get("ETag", ""))
            # An object's ETag changes with its bytes; fold it into mtime so a same-size rewrite
            # within the same second is still seen as a change.
            mtime_ns += int(hashlib.blake2b(etag.encode(), digest_size=2).hexdigest(), 16) if etag else 0
            out.append((rel, int(info.get("size") or 0), mtime_ns))
        return sorted(out)

    def raw_file(self, rel: str, size: int, max_bytes: int) -> RawFile:
        """Read one file's bytes and hash; a file that may not be read becomes an unread RawFile."""
        try:
            if self.remote:
                if size > max_bytes:
                    return _too_large(rel, size, max_bytes)
                with self.fs.open(f"{self.base}/{rel}", "rb") as handle:
                    data = handle.read(max_bytes + 1)
            else:
                data_or_unread = self._local_bytes(rel, size, max_bytes)
                if isinstance(data_or_unread, RawFile):
                    return data_or_unread
                data = data_or_unread
        except OSError as exc:
            return _unreadable(rel, size, f"{type(exc).__name__}: {exc.strerror or exc}")
        if len(data) > max_bytes:
            return RawFile(
                rel, len(data), None, None, Reason.TOO_LARGE, f"grew past --max-file-bytes {max_bytes}"
            )
        return RawFile(rel, len(data), hashlib.sha256(data).hexdigest(), data)

    def _local_bytes(self, rel: str, size: int, max_bytes: int) -> bytes | RawFile:
        """The bytes of a local file, checked on the open file itself (one open, one fstat, reads of its size).

        The last path component is opened without following a symlink: a symlinked file takes
        the slow path and is read only if it resolves inside the root. (Listing never enters
        symlinked folders, so the folders on the way are the root's own.) Non-blocking, so that
        a FIFO is refused instead of waited on.
        """
        path = os.path.join(self._root_path, rel)
        if "\\x" in rel and not os.path.lexists(path):
            path = os.path.join(self._root_path, fs_name(rel))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            try:
                real = Path(path).resolve(strict=True)
            except (OSError, RuntimeError) as exc:  # Python 3.11 raises RuntimeError on a loop
                return _unreadable(rel, size, f"symlink loop or dangling symlink ({type(exc).__name__})")
            if self.root not in real.parents:
                return _unreadable(rel, size, "symlink points outside the source root")
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return _unreadable(rel, size, "not a regular file")
            if st.st_size > max_bytes:
                return _too_large(rel, st.st_size, max_bytes)
            # Exactly the size fstat gave, plus more if the file grows meanwhile (up to the limit).
            chunks, total, want = [], 0, st.st_size + 1
            while chunk := os.read(fd, want):
                chunks.append(chunk)
                total += len(chunk)
                if total > max_bytes:
                    break
                want = min(1 << 20, max_bytes + 1 - total)
            return b"".join(chunks)
        finally:
            os.close(fd)
