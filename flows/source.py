"""Reading the source archive: listing matched files and reading them safely."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from pathlib import Path

from transforms.batch import RawFile
from transforms.reasons import Reason


def listed_files(root: Path, patterns: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(relative POSIX path, size, mtime_ns) of every regular file matching a pattern.

    Hidden files and folders are skipped. Symlinked folders are not followed; a symlinked
    file is listed and later read only if it resolves inside the root.
    """
    if not root.is_dir():
        raise NotADirectoryError(f"source {root} is not a folder")
    out: list[tuple[str, int, int]] = []
    base = root.resolve()
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or not any(fnmatch.fnmatch(name, p) for p in patterns):
                continue
            full = Path(folder) / name
            try:
                st = full.stat() if not full.is_symlink() else full.lstat()
            except OSError:
                continue
            rel = full.relative_to(base).as_posix()
            out.append((rel, int(st.st_size), int(st.st_mtime_ns)))
    return out


def read_raw_file(root: Path, rel: str, size: int, max_bytes: int) -> RawFile:
    """Read one file's bytes and hash; a file that may not be read becomes an unread RawFile."""
    base = root.resolve()
    full = base / rel
    try:
        real = full.resolve(strict=True)
        if base not in real.parents:
            return RawFile(rel, size, None, None, Reason.UNREADABLE, "symlink points outside the source root")
        if not real.is_file():
            return RawFile(rel, size, None, None, Reason.UNREADABLE, "not a regular file")
        actual = real.stat().st_size
        if actual > max_bytes:
            return RawFile(
                rel,
                actual,
                None,
                None,
                Reason.TOO_LARGE,
                f"{actual} bytes > --max-file-bytes {max_bytes}",
            )
        with open(real, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return RawFile(
            rel, size, None, None, Reason.UNREADABLE, f"{type(exc).__name__}: {exc.strerror or exc}"
        )
    if len(data) > max_bytes:
        return RawFile(
            rel, len(data), None, None, Reason.TOO_LARGE, f"grew past --max-file-bytes {max_bytes}"
        )
    return RawFile(rel, len(data), hashlib.sha256(data).hexdigest(), data)
