"""normalise.ascii_lower: its ASCII fast path gives what the full fold (NFKD, marks dropped) gives."""
from __future__ import annotations

import unicodedata

from hypothesis import given, strategies as st

from audit.entities.normalise import ascii_lower


def _full_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.text())
def test_the_fast_path_equals_the_full_fold(text):
    assert ascii_lower(text) == _full_fold(text)


def test_accents_and_compatibility_forms_fold():
    assert [ascii_lower(t) for t in ("Siân", "ÉCONOMIC", "Zoë", "ＡＢＣ")] == ["sian", "economic", "zoe", "abc"]
