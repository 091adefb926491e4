"""A small generated force for the end-to-end pipeline tests (generated once per session)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.generator import generate


@pytest.fixture(scope="session")
def force(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pipeline_force")
    generate(out, seed=21, months=12, end="2026-10", scale=0.1)
    return out


@pytest.fixture(scope="session")
def truth(force) -> dict:
    return json.loads((force / "truth.json").read_text(encoding="utf-8"))
