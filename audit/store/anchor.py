"""Anchors: the trail's head (seq, hash) kept outside the store, so a trail that was cut short
(its newest events deleted) or rewritten from some point on is found by `audit verify`.

Two places hold anchors:
- the local anchor file, `<data folder>/trail-anchor.json`: one JSON object per line, appended at
  every publish: {"format": "integrity-audit trail anchor", "seq", "hash", "at" (the event's time),
  "key_id", "written_at", "run", "period"};
- the manifest.json of each run's exports, delivered to the CCU: {"trail_head": {seq, hash, at,
  key_id}}. `audit verify --anchor FILE` checks against one (or against a copy of an anchor file).

An anchor says "this event existed with this hash": the store must still have an event of that seq
with that hash. Publishing stamps the head it exports (reports.publishing calls `stamp`).
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from audit.store import trail
from audit.store.db import Store

log = logging.getLogger("integrity_audit.anchor")
FILE_NAME = "trail-anchor.json"
FORMAT = "integrity-audit trail anchor"


class AnchorError(ValueError):
    """An anchor file or manifest that cannot be read; the message says which and why."""


def local_file(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def record(store: Store, data_dir: str | Path, **about: Any) -> dict[str, Any] | None:
    """Append the trail's current head to the local anchor file (None on an empty trail)."""
    head = trail.head(store)
    if head is None:
        return None
    entry = {"format": FORMAT, **head, "written_at": datetime.now(timezone.utc).isoformat(), **about}
    path = local_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:  # one write of one line with O_APPEND: concurrent publishers never interleave
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return head


def stamp(store: Store, data_dir: str | Path, run: Any) -> dict[str, Any] | None:
    """Before a run's outputs are written: record the head in the local anchor file and hand it to
    the export (reports.export puts `run.trail_head` in the manifest). A local file that cannot be
    written is logged, not fatal: the delivered manifest still carries the head."""
    try:
        head = record(store, data_dir, run=getattr(run, "id", None), period=getattr(run, "period", None))
    except OSError as e:
        log.warning("could not add the trail head to %s (%s); the run's manifest still carries it",
                    local_file(data_dir), e)
        head = trail.head(store)
    if head is not None:
        run.trail_head = {k: head[k] for k in ("seq", "hash", "at", "key_id")}
    return head


def read(path: str | Path) -> list[dict[str, Any]]:
    """The heads in an anchor file (one JSON object per line) or a manifest.json (its trail_head),
    each with `source` saying where it came from."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as e:
        raise AnchorError(f"cannot read the anchor {path}: {e.strerror or e}") from None
    heads: list[dict[str, Any]] = []
    try:
        doc = json.loads(content)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and "trail_head" not in doc and "seq" in doc:  # an anchor file of one line
        entries, what = [doc], path.name
    elif isinstance(doc, dict):
        if "trail_head" not in doc:
            raise AnchorError(f"{path} has no trail head (a manifest.json of a run published before "
                              "anchoring, or not an anchor file)")
        entries = [doc["trail_head"]]
        what = f"manifest {path.name}" + (f" of run {doc.get('run_id')}" if "run_id" in doc else "")
    else:
        entries, what = [], path.name
        for n, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except ValueError:
                if n == len(content.splitlines()):
                    continue  # a last line cut short by a crash while it was written
                raise AnchorError(f"{path}: line {n} is not JSON: the anchor file was damaged") from None
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("seq"), int) or not isinstance(e.get("hash"), str):
            raise AnchorError(f"{path}: an entry without a seq and hash: {str(e)[:120]}")
        heads.append({**e, "source": what})
    return heads
