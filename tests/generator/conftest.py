"""A tiny generated force shared by the generator tests (generated once per session), loaded
through the real connectors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.generator import generate

TINY = 0.05


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("force_a")
    generate(out, seed=11, months=12, end="2026-10", scale=TINY)
    return out


@pytest.fixture(scope="session")
def truth(tiny) -> dict:
    return json.loads((tiny / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def loaded(tiny):
    """The generated sources through audit.settings + connectors.load_sources."""
    import connectors
    from audit import settings

    cfg = settings.load(tiny / "config.toml")
    # loaded from another folder on purpose: relative paths (the SQLite URL too) follow the config
    return connectors.load_sources(cfg.sources, cfg.base_dir)
