"""Finding a file source's files (path or glob, relative to the config folder) and hashing them."""
from __future__ import annotations

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
        raise SourceError(source.name, f"file not found: {pattern} (check `path`; relative paths "
                          "are relative to the config file's folder)")
    return [pattern]


def label(path: Path, base_dir: Path) -> str:
    """The path as shown in quarantine and _file: relative to the config folder where possible."""
    try:
        return Path(os.path.relpath(path, base_dir)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
