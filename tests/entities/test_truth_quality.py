"""Resolution quality on a small generated force, scored against its truth.json (lower bounds).

Needs the generator (`integrity-audit generate`) and the connectors; skipped with a reason until
the generator exists, except under CI=true where its absence is a failure.
"""
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HAVE_GENERATOR = (ROOT / "audit" / "cli" / "generate_cmd.py").exists()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    if not HAVE_GENERATOR:
        if os.environ.get("CI") == "true":
            pytest.fail("audit/cli/generate_cmd.py is missing: the generator must exist in CI")
        pytest.skip("the generator (audit/cli/generate_cmd.py) has not landed yet")
    out = tmp_path_factory.mktemp("force")
    subprocess.run([sys.executable, "-c", "from audit.cli import main; main()", "generate", "--out", str(out),
                    "--seed", "5", "--months", "12", "--end", "2026-10", "--scale", "0.3"],
                   check=True, cwd=ROOT, capture_output=True)
    import connectors
    from audit import settings as settings_mod
    from audit.entities import resolve
    s = settings_mod.load(out / "config.toml")
    with contextlib.chdir(out):  # the generated sqlite URL is relative to the force's folder
        loaded = connectors.load_sources(s.sources, s.base_dir)
    assert not loaded.failures, loaded.failures
    frames = {r: df for r, df in loaded.by_register().items() if not df.empty}
    return resolve(frames, s.entities), json.loads((out / "truth.json").read_text())


def test_organisation_links_meet_targets(generated):
    from audit.entities.quality import score_orgs
    res, truth = generated
    s = score_orgs(res, truth)
    # a mention on a planted dirty row is quarantined by the connector, so it cannot be found
    assert s["mentions"] > 100 and s["not_found"] <= len(truth["dirty_rows"])
    assert s["rows"]["precision"] >= 0.98, s
    assert s["rows"]["recall"] >= 0.95, s
    # a decoy linked even weakly shares its org_key: the association and gift rules would alert on it
    assert s["decoy_pairs_linked"] == 0, s


def test_person_names_resolve_without_wrong_guesses(generated):
    from audit.entities.quality import score_people
    res, truth = generated
    s = score_people(res, truth)
    assert s["mentions"] > 0 and s["not_found"] <= len(truth["dirty_rows"])
    assert s["wrong"] <= 0.01 * s["mentions"], s
    assert s["correct"] >= 0.9 * s["known"], s  # of the found mentions whose person is known


def test_every_row_gets_its_keys_or_an_unresolved_reason(generated):
    res, _ = generated
    for register, df in res.frames.items():
        if "person_key" in df and "person_id" in df:
            named = df["person_id"].notna() | (df["person_name"].notna() if "person_name" in df else False)
            missing = df[named & df["person_key"].isna()]
            reported = set(res.unresolved.loc[res.unresolved["field"] == "person_key", "fact_id"])
            assert set(missing["fact_id"]) <= reported, register
