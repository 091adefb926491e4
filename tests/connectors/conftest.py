"""Fixtures for connector tests: write a small source file into tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path):
    """write(text_or_bytes, name='spend.csv', encoding='utf-8') -> the file's name (relative)."""

    def _write(content, name: str = "spend.csv", encoding: str = "utf-8") -> str:
        data = content if isinstance(content, bytes) else content.encode(encoding)
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
        return name

    return _write
