"""`sources suggest DIR`: a folder of a force's exports -> one config (register of each file guessed,
with the reason), which `sources check` then loads as it is; and the register guessed for one file."""
from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.cli import app
from connectors.suggest import read
from connectors.suggest.folder import folder_toml, guess, suggest_folder

LAYOUTS = Path(__file__).resolve().parent / "layouts"


def invoke(*args: str):
    return CliRunner().invoke(app, ["sources", *args])


def test_a_folder_gets_every_register_guessed_and_workforce_ids_recognise_person_columns():
    outcome = suggest_folder(LAYOUTS / "westmoor")
    got = {f.path.name: f.suggestion.register.name for f in outcome.files}
    assert got == {"absence.csv": "absence", "chief_officers_gifts_register.csv": "gifts_hospitality",
                   "expenses.xlsx": "expenses", "gifts_divisional_return.csv": "gifts_hospitality",
                   "hr_extract.csv": "workforce", "notifiable_associations.csv": "notifiable_associations",
                   "spend_over_500.csv": "procurement"}
    assert outcome.all_load and outcome.known_ids == 30
    gifts = next(f for f in outcome.files if f.path.name == "chief_officers_gifts_register.csv")
    assert gifts.suggestion.mapped_fields["person_id"] == "MemberId"  # only its values say so
    assert gifts.guess.reason.startswith("gifts_hospitality: 10 of 12 columns mapped")
    assert "every required field found; next: " in gifts.guess.reason
    text = folder_toml(outcome)
    names = [s["name"] for s in tomllib.loads(text)["sources"]]
    assert names[0] == "hr_extract" and len(set(names)) == 7  # workforce first, names unique


def test_cli_folder_config_then_sources_check_loads_every_source(tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(LAYOUTS / "northshire", exports, ignore=shutil.ignore_patterns("*.toml"))
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    result = invoke("suggest", str(exports), "--output", str(config))
    assert result.exit_code == 0, result.output
    assert "vetting_register.txt: vetting: 8 of 8 columns mapped" in " ".join(result.stderr.split())
    sources = tomllib.loads(config.read_text(encoding="utf-8"))["sources"]
    assert {s["path"] for s in sources} == {f"../exports/{p.name}" for p in exports.iterdir()}
    check = invoke("check", "--config", str(config), "--json")
    assert check.exit_code == 0, check.output
    rows = json.loads(check.stdout)["sources"]
    assert len(rows) == 5 and all(r["status"] == "loaded" and r["rows_quarantined"] == 0 for r in rows)
    assert sum(r["rows_accepted"] for r in rows) == 28 + 32 + 32 + 30 + 26


def test_a_file_no_register_fits_is_listed_not_given_a_block_and_exit_1(tmp_path):
    shutil.copy(LAYOUTS / "westmoor" / "absence.csv", tmp_path / "absence.csv")
    (tmp_path / "fleet.csv").write_text("Vehicle,Colour,Mileage Band\nAB12 CDE,Blue,High\n", encoding="utf-8")
    result = invoke("suggest", str(tmp_path))
    assert result.exit_code == 1
    config = tomllib.loads(result.stdout)
    assert [s["register"] for s in config["sources"]] == ["absence"]
    assert "# not recognised: fleet.csv: no register fits: closest is" in result.stdout


def test_one_file_without_register_is_guessed_with_the_reason(tmp_path):
    path = LAYOUTS / "eastvale" / "vetting_clearances.xlsx"
    g = guess(read(path))
    assert g.suggestion.register.name == "vetting" and g.reason.startswith("vetting: 8 of 8 columns mapped")
    assert [r[0] for r in g.ranking][0] == "vetting"
    result = invoke("suggest", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# register guessed: vetting: 8 of 8 columns mapped")
    assert tomllib.loads(result.stdout)["sources"][0]["register"] == "vetting"


def test_cli_config_gives_the_workforce_ids(tmp_path):
    hr = LAYOUTS / "westmoor" / "hr_extract.csv"
    wf = invoke("suggest", str(hr), "-r", "workforce")
    config = tmp_path / "config.toml"
    config.write_text(wf.stdout.replace(f'path = "{hr.as_posix()}"', f'path = "{hr.resolve().as_posix()}"'),
                      encoding="utf-8")
    gifts = str(LAYOUTS / "westmoor" / "chief_officers_gifts_register.csv")
    blind = invoke("suggest", gifts, "-r", "gifts_hospitality", "--json")
    seen = invoke("suggest", gifts, "-r", "gifts_hospitality", "--json", "--config", str(config))
    assert "person_id" not in json.loads(blind.stdout)["mapping"]["columns"].values()
    assert json.loads(seen.stdout)["mapping"]["columns"]["MemberId"] == "person_id"


from realdata_path import REALDATA  # noqa: E402


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"real data folder {REALDATA} not present")
def test_the_real_published_spend_files_are_all_procurement_and_load():
    outcome = suggest_folder(REALDATA)
    assert [f.suggestion.register.name for f in outcome.files] == ["procurement"] * 3
    assert outcome.all_load
    assert [(f.dry_run.read, f.dry_run.quarantined) for f in outcome.files] == [(633, 0), (1956, 0), (3855, 0)]
