"""Where the real published spend files are (`shared/realdata` in the workplace, beside the checkout).

INTEGRITY_AUDIT_REALDATA names the folder; otherwise the first `shared/realdata` beside the checkout
or beside any folder above it, so a checkout made deeper in the workplace (CI's) finds it too. The
tests that read it skip, saying where they looked, when there is none (a laptop)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    if os.environ.get("INTEGRITY_AUDIT_REALDATA"):
        return Path(os.environ["INTEGRITY_AUDIT_REALDATA"])
    for folder in ROOT.parents:
        if (folder / "shared" / "realdata").is_dir():
            return folder / "shared" / "realdata"
    return ROOT.parent / "shared" / "realdata"


REALDATA = _find()
