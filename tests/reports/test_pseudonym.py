"""Pseudonymised exports: no real name or person key survives anywhere, the same person gets
the same pseudonym across runs (months), and a different key gives different pseudonyms."""
from __future__ import annotations

import json

import pytest

from report_fixtures import HOSTILE, PEOPLE, make_run
from reports import export
from reports.pseudonym import KEY_ENV, PseudonymError, Pseudonymiser, pseudonymise


def _all_text(folder):
    return "\n".join(p.read_text(encoding="utf-8-sig") for p in sorted(folder.iterdir())
                     if p.suffix in (".csv", ".json"))


def test_no_person_survives_in_any_export(tmp_path):
    run = make_run()
    out = export.export(run, tmp_path, ["all"], pseudonymise_names=True,
                        pseudonymiser=Pseudonymiser(b"k1"))
    text = _all_text(tmp_path)
    for pid, name in PEOPLE:
        assert pid not in text, pid
        if name in HOSTILE:  # this "name" is also an organisation's (kept) name in the fixture
            continue
        for part in name.split():
            if len(part) > 3:
                assert part not in text, part
    assert "Vincent Crane" not in text  # associate named in a sensitive fact
    assert "Acme Fleet Services Ltd" in text  # organisations are kept
    assert out.manifest["pseudonymised"] is True
    assert all("pseudonymised" in p.name for p in out.paths)
    doc = json.loads(out.by_format["json"][0].read_text())
    a = doc["alerts"][0]
    assert a["subject"].startswith("PERSON-") and a["subject_name"] == a["subject"]
    assert run.alerts[0].subject.startswith("P0")  # the input run is untouched


def test_same_person_same_pseudonym_across_months_and_keys_differ():
    march, april = make_run(period="2026-03", seed=1), make_run(period="2026-04", seed=2)
    pm = pseudonymise(march, Pseudonymiser(b"k1"))
    pa = pseudonymise(april, Pseudonymiser(b"k1"))
    m = {o.subject: p.subject for o, p in zip(march.alerts, pm.alerts)}
    a = {o.subject: p.subject for o, p in zip(april.alerts, pa.alerts)}
    shared = set(m) & set(a)
    assert len(shared) >= 5 and all(m[k] == a[k] for k in shared)
    assert len(set(m.values())) == len(m)  # distinct people stay distinct
    other = pseudonymise(march, Pseudonymiser(b"k2"))
    assert {p.subject for p in other.alerts}.isdisjoint(set(m.values()))
    # a name in free text follows its owner's pseudonym
    first = pm.alerts[0]
    assert march.alerts[0].subject_name not in first.title and first.subject in first.title


def test_refuses_without_key(monkeypatch, tmp_path):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(PseudonymError, match=KEY_ENV):
        export.export(make_run(), tmp_path, ["csv"], pseudonymise_names=True)
    assert not list(tmp_path.iterdir())  # nothing half-written
