"""Atomic file writes: a temporary file in the same folder, fsync, then os.replace, so a reader
(a person, a CCU folder watcher) never sees half a file; and atomic folder swaps (staging_dir,
swap_dir, settle), so a reader never sees half of a run's set of outputs (see the section below).

INTEGRITY_AUDIT_PORTABLE_SWAP=1 (tests) makes swap_dir use the portable two-rename swap even on
Linux, so its crash recovery can be exercised."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# -- a whole folder at once --------------------------------------------------------------------
#
# A run's outputs (report, exports, manifest) are one set: a reader must never see half of one
# set and half of another. They are written to a temporary folder next to the final one, which is
# then swapped in:
#
# - on Linux, renameat2(RENAME_EXCHANGE) swaps the two folders in one atomic step; the temporary
#   name then holds the previous set, which is deleted (or, after a crash, at the next publish);
# - elsewhere (or where the file system refuses the exchange), the final folder is renamed aside,
#   the new one renamed in, and the old one deleted. A crash between the two renames leaves the old
#   complete folder under its aside name: `settle` (run before every publish) puts it back.
#
# So a crash at any point leaves the old complete folder or the new complete folder, and leftover
# temporary or aside folders are cleaned up by the next publish of that folder.

_STAGING = ".{name}.publishing-"
_ASIDE = ".{name}.previous-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _, _ in os.walk(root):
        _fsync_dir(Path(folder))


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if os.environ.get("INTEGRITY_AUDIT_PORTABLE_SWAP"):  # tests: exercise the portable path
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except Exception:  # noqa: BLE001 - no C library to ask (Windows) or no renameat2 (old glibc, macOS)
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    import errno

    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False  # kernel or file system without RENAME_EXCHANGE: the portable swap
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def leftovers(final: str | Path) -> tuple[list[Path], list[Path]]:
    """(temporary folders, aside folders) left next to `final` by interrupted swaps."""
    final = Path(final)
    parent = final.parent
    if not parent.is_dir():
        return [], []
    staging = sorted(parent.glob(_STAGING.format(name=final.name) + "*"))
    aside = sorted(parent.glob(_ASIDE.format(name=final.name) + "*"), key=lambda p: p.stat().st_mtime)
    return staging, aside


def settle(final: str | Path) -> list[str]:
    """Finish what an interrupted swap into `final` left: put the old folder back if the crash came
    between the two renames of the portable swap, and delete temporary and aside folders. Returns
    what it did, in words. Call it under the lock that serialises writers of `final`."""
    import shutil

    final = Path(final)
    staging, aside = leftovers(final)
    done = []
    if not final.exists() and aside:
        newest = aside.pop()
        os.rename(newest, final)
        _fsync_dir(final.parent)
        done.append(f"put back {final} from {newest.name} (a swap was interrupted)")
    for p in staging + aside:
        shutil.rmtree(p, ignore_errors=True)
        done.append(f"removed {p.name} (left by an interrupted publish)")
    return done


def staging_dir(final: str | Path) -> Path:
    """A new empty temporary folder next to `final` (same file system, so it can be renamed in)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_STAGING.format(name=final.name), dir=final.parent))


def swap_dir(staging: str | Path, final: str | Path, *, on_aside=None) -> None:
    """Make the complete folder `staging` be `final`, replacing what was there (see above)."""
    import shutil

    staging, final = Path(staging), Path(final)
    _fsync_tree(staging)
    if not final.exists():
        os.rename(staging, final)
        _fsync_dir(final.parent)
        return
    if _exchange(staging, final):
        _fsync_dir(final.parent)
        shutil.rmtree(staging, ignore_errors=True)  # now the previous set
        return
    aside = Path(tempfile.mkdtemp(prefix=_ASIDE.format(name=final.name), dir=final.parent))
    os.rmdir(aside)
    os.rename(final, aside)
    try:
        if on_aside is not None:
            on_aside()
        os.rename(staging, final)
    except BaseException:
        if not final.exists():
            os.rename(aside, final)  # the old complete set goes back
        raise
    _fsync_dir(final.parent)
    shutil.rmtree(aside, ignore_errors=True)
