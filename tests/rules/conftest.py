"""Make tests/rules helpers importable (helpers.py, test_engines bodies)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
