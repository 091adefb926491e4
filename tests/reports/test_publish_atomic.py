"""Publishing is all or nothing, and part of a run's success.

- reports.atomic.swap_dir puts a whole new folder in place of the old one (Linux: one atomic
  exchange; elsewhere: two renames whose interruption `settle` repairs), and leftovers of an
  interrupted publish are cleaned at the next;
- publish() writes the set next to the output folder, swaps it in, delivers, THEN marks the run
  published; a failure part way leaves the previous set and an unpublished run;
- only the period's recorded run can be published; `report --period` publishes a run whose
  publishing was interrupted (and says which), `export` refuses until then;
- the web app offers a run's files only when the folder holds that run's published set.
"""
from __future__ import annotations

import hashlib
import json
import re

import pytest
from typer.testing import CliRunner

from audit.cli import app
from audit.settings import load
from audit.store import open_store, record_run, trail
from audit.store.queries import latest_run_id, published_at, unpublished_run_id
from report_fixtures import store_run_factory

import reports
from reports import atomic, publishing

PERIOD = "2026-03"


def files_of(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def flat(text: str) -> str:
    return " ".join(text.split())


def make(folder, files: dict[str, str]):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


# -- the folder swap -----------------------------------------------------------------------------

@pytest.fixture(params=["exchange", "portable"])
def swap_mode(request, monkeypatch):
    if request.param == "portable":
        monkeypatch.setenv("INTEGRITY_AUDIT_PORTABLE_SWAP", "1")
    return request.param


def test_swap_dir_puts_the_whole_new_folder_in_place(tmp_path, swap_mode):
    final = make(tmp_path / "out" / PERIOD, {"old.csv": "old", "manifest.json": "{old}", "sub/x": "old"})
    staging = atomic.staging_dir(final)
    assert staging.parent == final.parent and staging.name.startswith(f".{PERIOD}.")
    make(staging, {"new.csv": "new", "manifest.json": "{new}", "pseudonymised/y": "new"})
    atomic.swap_dir(staging, final)
    assert files_of(final) == files_of(make(tmp_path / "want", {"new.csv": "new", "manifest.json": "{new}",
                                                                "pseudonymised/y": "new"}))
    assert not staging.exists() and atomic.leftovers(final) == ([], [])
    first = tmp_path / "out" / "2026-04"  # no folder yet: a plain rename
    staging = make(atomic.staging_dir(first), {"a": "1"})
    atomic.swap_dir(staging, first)
    assert files_of(first) == {"a": hashlib.sha256(b"1").hexdigest()}


def test_an_error_between_the_two_renames_puts_the_old_folder_back(tmp_path, monkeypatch):
    monkeypatch.setenv("INTEGRITY_AUDIT_PORTABLE_SWAP", "1")
    final = make(tmp_path / PERIOD, {"old.csv": "old"})
    before = files_of(final)
    staging = make(atomic.staging_dir(final), {"new.csv": "new"})

    def crash():
        assert not final.exists()  # the old folder is aside, the new one not yet in
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        atomic.swap_dir(staging, final, on_aside=crash)
    assert files_of(final) == before
    assert atomic.settle(final) == [f"removed {staging.name} (left by an interrupted publish)"]
    assert atomic.leftovers(final) == ([], []) and files_of(final) == before


def test_settle_repairs_what_a_kill_between_the_two_renames_left(tmp_path):
    final = make(tmp_path / PERIOD, {"old.csv": "old", "manifest.json": "{}"})
    before = files_of(final)
    staging = make(atomic.staging_dir(final), {"new.csv": "half"})
    aside = final.with_name(f".{PERIOD}.previous-abc")
    final.rename(aside)  # the process was killed here
    done = atomic.settle(final)
    assert done[0].startswith(f"put back {final}") and files_of(final) == before
    assert not staging.exists() and not aside.exists()
    assert atomic.settle(final) == []


# -- publish() over a real store --------------------------------------------------------------

@pytest.fixture
def published(tmp_path, monkeypatch):
    """A store whose 2026-03 run is recorded and published (to out/ and a CCU folder); a config."""
    factory = store_run_factory()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    config = tmp_path / "config.toml"
    config.write_text(f'[audit]\nforce_name = "Test Constabulary"\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[store]\nurl = "{url}"\n[exports]\nout_dir = "{tmp_path / "out"}"\n'
                      f'[[exports.destinations]]\nname = "ccu-share"\nkind = "folder"\n'
                      f'path = "{tmp_path / "ccu"}"\n')
    settings = load(config)
    first = record_run(store, factory.build(PERIOD, range(1, 6)))
    reports.publish(store, settings, first.run_id, backoff=0)
    yield store, settings, config, factory, first.run_id, tmp_path
    store.dispose()


def test_publish_marks_the_run_published_after_the_files_are_in_place(published):
    store, settings, _, _, run_id, tmp = published
    final = publishing.output_dir(settings, PERIOD)
    assert publishing.folder_run_id(final) == run_id and published_at(store, run_id) is not None
    event = trail.events(store, action="run.publish", obj=f"run:{run_id}")
    assert len(event) == 1 and event[0]["details"]["folder"] == str(final)
    manifest = (final / "manifest.json").read_bytes()
    assert event[0]["details"]["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert latest_run_id(store, PERIOD, published=True) == run_id
    assert atomic.leftovers(final) == ([], [])
    assert (tmp / "ccu" / PERIOD / "manifest.json").exists()


def test_a_failure_part_way_leaves_the_previous_set_and_an_unpublished_run(published, monkeypatch):
    store, settings, config, factory, first, tmp = published
    final = publishing.output_dir(settings, PERIOD)
    before = files_of(final)
    again = record_run(store, factory.build(PERIOD, range(1, 9))).run_id
    real = publishing.write_report

    def broken(run, path, **kw):
        if "reviewers" in path.name:  # the full report and the exports are written by now
            assert any(path.parent.glob("*.csv"))
            raise OSError("out of disk space")
        return real(run, path, **kw)

    monkeypatch.setattr(publishing, "write_report", broken)
    with pytest.raises(OSError, match="out of disk space"):
        reports.publish(store, settings, again, backoff=0)
    assert files_of(final) == before and atomic.leftovers(final) == ([], [])
    assert published_at(store, again) is None and unpublished_run_id(store, PERIOD) == again
    assert latest_run_id(store, PERIOD, published=True) is None  # the replaced run's results are gone
    monkeypatch.setattr(publishing, "write_report", real)
    result = reports.publish(store, settings, again, backoff=0)
    assert publishing.folder_run_id(final) == again and published_at(store, again) is not None
    assert json.loads(result.manifest_path.read_text())["rows"]["alerts"] == 8
    assert result.manifest_path == final / "manifest.json"


def test_the_next_publish_cleans_what_an_interrupted_one_left(published, caplog):
    store, settings, _, factory, _, _ = published
    final = publishing.output_dir(settings, PERIOD)
    junk = make(atomic.staging_dir(final), {"half.csv": "half"})
    again = record_run(store, factory.build(PERIOD, range(1, 4))).run_id
    result = reports.publish(store, settings, again, backoff=0)
    assert not junk.exists() and atomic.leftovers(final) == ([], [])
    assert any(junk.name in n for n in result.notes)
    assert publishing.folder_run_id(final) == again


def test_only_the_periods_current_results_are_published(published):
    store, settings, _, factory, first, _ = published
    newer = record_run(store, factory.build(PERIOD, range(1, 3))).run_id
    with pytest.raises(publishing.NotPublishable, match=f"run {newer} replaced it"):
        reports.publish(store, settings, first, backoff=0)
    failed = record_run(store, factory.build(PERIOD, [], status="failed")).run_id
    with pytest.raises(publishing.NotPublishable, match="it is failed"):
        reports.publish(store, settings, failed, backoff=0)
    result = reports.publish(store, settings, newer, backoff=0)
    assert any(f"run {first}" in n for n in result.notes) is False  # first was published: nothing to say
    assert publishing.folder_run_id(result.manifest_path.parent) == newer


def test_a_rerun_says_which_unpublished_run_it_replaces(published):
    store, settings, _, factory, _, _ = published
    lost = record_run(store, factory.build(PERIOD, range(1, 3))).run_id  # "killed while publishing"
    newer = record_run(store, factory.build(PERIOD, range(1, 4))).run_id
    result = reports.publish(store, settings, newer, backoff=0)
    assert any(f"run {lost} of {PERIOD} was recorded but its report and exports were never published" in n
               and f"run {newer} replaces it" in n for n in result.notes)


def test_report_publishes_an_unpublished_run_and_export_waits_for_it(published):
    store, settings, config, factory, first, tmp = published
    final = publishing.output_dir(settings, PERIOD)
    before = files_of(final)
    pending = record_run(store, factory.build(PERIOD, range(1, 8))).run_id
    cli = CliRunner()
    res = cli.invoke(app, ["export", "--period", PERIOD, "--to", str(tmp / "x"), "--config", str(config)])
    assert res.exit_code == 1, res.output
    assert f"run {pending} of {PERIOD} was recorded but its report and exports were never published" in flat(res.output)
    assert not (tmp / "x").exists() and files_of(final) == before
    listed = {r["id"]: r for r in json.loads(cli.invoke(app, ["runs", "list", "--json", "--config",
                                                              str(config)]).stdout)}
    assert listed[pending]["unpublished"] is True and listed[first]["unpublished"] is False
    shown = flat(cli.invoke(app, ["runs", "show", str(pending), "--config", str(config)]).stdout)
    assert "Not published" in shown and f"report --period {PERIOD}` publishes it" in shown
    res = cli.invoke(app, ["report", "--period", PERIOD, "--config", str(config)])
    assert res.exit_code == 0, res.output
    out = flat(res.output)
    assert f"run {pending} of {PERIOD} was recorded" in out and "publishing it now" in out
    assert f"(run {pending}, 7 alerts)" in out and "delivery ccu-share: delivered" in out
    assert publishing.folder_run_id(final) == pending and published_at(store, pending) is not None
    res = cli.invoke(app, ["export", "--period", PERIOD, "-f", "json", "--to", str(tmp / "x"),
                           "--config", str(config)])
    assert res.exit_code == 0 and json.loads((tmp / "x" / "manifest.json").read_text())["run_id"] == pending
    shown = flat(cli.invoke(app, ["runs", "show", str(pending), "--config", str(config)]).stdout)
    assert "Published" in shown


def test_an_export_carries_the_trail_head_now_and_anchors_it(published):
    """A copy exported after publishing (to hand over again, or elsewhere) is an anchor too: its
    manifest holds the trail's head as it is now, which is also added to the local anchor file."""
    store, settings, config, factory, first, tmp = published
    anchors = (settings.data_dir / "trail-anchor.json").read_text().splitlines()
    at_publish = json.loads((publishing.output_dir(settings, PERIOD) / "manifest.json").read_text())["trail_head"]
    cli = CliRunner()
    res = cli.invoke(app, ["export", "--period", PERIOD, "-f", "json", "--to", str(tmp / "again"),
                           "--config", str(config)])
    assert res.exit_code == 0, res.output
    head = json.loads((tmp / "again" / "manifest.json").read_text())["trail_head"]
    assert head == {k: trail.head(store)[k] for k in ("seq", "hash", "at", "key_id")}
    assert head["seq"] > at_publish["seq"]  # the publish itself was written to the trail since
    now = (settings.data_dir / "trail-anchor.json").read_text().splitlines()
    assert len(now) == len(anchors) + 1 and json.loads(now[-1])["hash"] == head["hash"]
    res = cli.invoke(app, ["audit", "verify", "--anchor", str(tmp / "again" / "manifest.json"),
                           "--config", str(config)])
    assert res.exit_code == 0, res.output


# -- the web app: a run's files are its own published set -----------------------------------

PASSWORD = "correct horse battery staple"


def signed_in(client, name: str) -> None:
    page = client.get("/login").text
    csrf = re.search(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"csrf": csrf, "username": name, "password": PASSWORD})
    assert r.status_code == 303, r.text[:300]


def test_the_web_app_offers_only_a_runs_own_published_files(published):
    from starlette.testclient import TestClient

    from audit.web import create_app, users

    store, settings, _, factory, first, _ = published
    users.add_user(store, "cara", "ccu", PASSWORD, actor="test")
    pending = record_run(store, factory.build(PERIOD, range(1, 3))).run_id  # recorded, not published
    failed = record_run(store, factory.build(PERIOD, [], status="failed")).run_id
    with TestClient(create_app(settings, store), follow_redirects=False) as client:
        signed_in(client, "cara")
        page = client.get(f"/runs/{pending}").text
        assert "not published" in page and f"holds run {first}&#39;s files" in page
        assert 'href="/runs/' + str(pending) + '/files/' not in page
        assert client.get(f"/runs/{pending}/files/manifest.json").status_code == 404
        page = client.get(f"/runs/{failed}").text
        assert "This run failed: it has no report or exports." in page
        assert client.get(f"/runs/{failed}/files/manifest.json").status_code == 404
        # the files in the folder are the first run's, and say so
        assert f'href="/runs/{first}/files/manifest.json"' in client.get(f"/runs/{first}").text
        assert client.get(f"/runs/{first}/files/manifest.json").json()["run_id"] == first
        assert "not published (interrupted" in client.get("/runs").text
        reports.publish(store, settings, pending, backoff=0)
        assert f'href="/runs/{pending}/files/manifest.json"' in client.get(f"/runs/{pending}").text
        assert client.get(f"/runs/{first}/files/manifest.json").status_code == 404
        assert "replaced by run" in client.get(f"/runs/{first}").text
