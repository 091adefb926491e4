"""Finding a file source's files (path or glob, relative to the config folder), reading and hashing them.

A path that is not a readable file (a folder, a broken link, a link loop, no permission) fails the
source with what it is, never with a traceback.
"""
from __future__ import annotations

import errno
import glob
import hashlib
import os
from pathlib import Path

from .config import SourceConfig
from .frame import SourceError


def resolve(source: SourceConfig, base_dir: Path) -> list[Path]:
    """The files a csv/xlsx source names, sorted; SourceError if there are none."""
    if not source.path:
        raise SourceError(source.name, f"a {source.kind} source needs `path` (a file or a glob)")
    pattern = Path(source.path).expanduser()
    if not pattern.is_absolute():
        pattern = Path(base_dir) / pattern
    if glob.has_magic(str(pattern)):
        paths = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
        if not paths:
            raise SourceError(source.name, f"no file matches {source.path!r} (looked in {pattern.parent})")
        return paths
    if not pattern.is_file():
        raise SourceError(source.name, _not_a_file(pattern, label(pattern, base_dir)))
    return [pattern]


def _not_a_file(path: Path, name: str) -> str:
    """Why `path` is not a file to read, in words."""
    if path.is_dir():
        return f"{name} is a folder, not a file (check `path`; use a glob such as {name}/*.csv for its files)"
    if path.is_symlink():
        try:
            path.stat()
        except OSError as e:
            if e.errno == errno.ELOOP:
                return f"{name}: symbolic link loop (the link points back to itself); check `path`"
            return f"{name}: the symbolic link points to {os.readlink(path)!r}, which does not exist"
    if path.exists():
        return f"{name} is not a regular file (a device or a pipe?); check `path`"
    return (f"file not found: {path} (check `path`; relative paths are relative to the config "
            "file's folder)")


def read(source: SourceConfig, path: Path, name: str) -> bytes:
    """The file's bytes; SourceError (not OSError) when it cannot be read."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise SourceError(source.name, _not_a_file(path, name)) from None
    except OSError as e:
        raise SourceError(source.name, f"{name}: cannot be read ({e.strerror or type(e).__name__})") from None


def label(path: Path, base_dir: Path) -> str:
    """The path as shown in quarantine and _file: relative to the config folder where possible."""
    try:
        return Path(os.path.relpath(path, base_dir)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
