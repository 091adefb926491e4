"""Fixtures for the entity-resolution tests (helpers live in entity_fixtures.py)."""
import pandas as pd
import pytest

from entity_fixtures import WORKFORCE, frame


@pytest.fixture
def workforce() -> pd.DataFrame:
    return frame("workforce", WORKFORCE)
