"""The bundled sample as a force folder of its own, for tests that edit its registers and replay
months (a module name of its own, importable from every test folder like pgschema)."""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_sample(dst: Path) -> Path:
    """dst/ with a copy of sample/ and config.toml."""
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "sample", dst / "sample")
    shutil.copy(ROOT / "config.toml", dst / "config.toml")
    return dst


def settings_of(folder: Path, store_url: str | None = None):
    """The folder's config.toml, with another store when given."""
    from audit import settings

    s = settings.load(folder / "config.toml")
    if store_url:
        s.store.url = store_url
    return s
