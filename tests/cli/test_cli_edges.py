"""CLI edge cases of issue #17: --config before a subcommand, periods that must not be audited
(future, beyond the data), the overdue period of a store that never had a scheduler, and
unchecked alerts input (unknown values, assignees who may not take the alert, not-found codes)."""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from audit import scheduler, settings as settings_mod
from audit.cli import app
from audit.generator import generate
from audit.period import Period
from audit.store import open_store

os.environ.setdefault("INTEGRITY_AUDIT_TRAIL_KEY", "devkey-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")

FAKE_RUNS: list[str] = []


def fake_runner(settings, period, actor="cli"):
    """Injected instead of audit.pipeline.run_period (by reference: test_cli_edges:fake_runner)."""
    FAKE_RUNS.append(str(period))
    return None


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    return " ".join(text.split())


def last_fired_period() -> str:
    """The period the cron "0 0 1 * *" (midnight on the 1st) should have audited by now."""
    return str(Period.containing(datetime.now(ZoneInfo("Europe/London")).date()).previous())


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A small generated force whose data ends 2026-10."""
    out = tmp_path_factory.mktemp("edges_force")
    generate(out, seed=21, months=12, end="2026-10", scale=0.1)
    return out


@pytest.fixture()
def force(generated, tmp_path) -> Path:
    """A private copy of the generated force (its own store): its config.toml."""
    dst = tmp_path / "force"
    shutil.copytree(generated, dst, ignore=shutil.ignore_patterns("data"))
    return dst / "config.toml"


@pytest.fixture(scope="module")
def audited(generated, tmp_path_factory) -> Path:
    """The force with 2026-10 audited (not published): config.toml of a store with alerts."""
    dst = tmp_path_factory.mktemp("edges_audited") / "force"
    shutil.copytree(generated, dst, ignore=shutil.ignore_patterns("data"))
    res = cli("run", "--period", "2026-10", "--no-publish", "--config", str(dst / "config.toml"))
    assert res.exit_code in (0, 3), res.output
    return dst / "config.toml"


@pytest.fixture()
def bare(tmp_path) -> Path:
    """A config with no sources, its own store, and a distinctive monthly cron."""
    path = tmp_path / "config.toml"
    path.write_text(f'[audit]\ndata_dir = "{tmp_path / "data"}"\n\n'
                    f'[store]\nurl = "sqlite:///{tmp_path / "data" / "store.db"}"\n\n'
                    '[schedule]\ncron = "0 0 1 * *"\ntimezone = "Europe/London"\nmisfire_grace_days = 7\n')
    return path


# ---- 1. --config before the subcommand --------------------------------------------------------

def test_schedule_config_before_the_subcommand_is_used(bare):
    for args in (["schedule", "--config", str(bare), "status"], ["schedule", "status", "--config", str(bare)]):
        res = cli(*args)
        assert res.exit_code == 0, res.output
        assert "cron '0 0 1 * *'" in res.output, (args, res.output)  # this config's cron, not the default's


def test_schedule_run_due_config_before_the_subcommand_is_used(force):
    res = cli("schedule", "--config", str(force), "run-due")
    assert res.exit_code == 0, res.output
    assert (force.parent / "data" / "logs" / "scheduler.log").exists()  # this force's data folder


def test_schedule_config_given_twice_differently_is_refused(bare, force):
    res = cli("schedule", "--config", str(bare), "status", "--config", str(force))
    assert res.exit_code == 2 and "--config given twice" in flat(res.output)


@pytest.mark.parametrize("group,sub", [("alerts", "list"), ("runs", "list"), ("users", "list"),
                                       ("audit", "verify"), ("entities", "overrides"),
                                       ("sources", "check"), ("rules", "list")])
def test_other_groups_never_ignore_a_config_before_the_subcommand(group, sub, bare):
    """They have no group --config: the option is refused (exit 2), never silently ignored."""
    res = cli(group, "--config", str(bare), sub)
    assert res.exit_code == 2 and "No such option" in res.output


# ---- 2. periods that must not be audited -------------------------------------------------------

def test_run_refuses_a_future_period(force):
    res = cli("run", "--period", "2099-01", "--config", str(force))
    assert res.exit_code == 2, res.output
    assert "2099-01 is in the future" in flat(res.output)


def test_run_refuses_a_period_beyond_the_data_unless_allowed(force):
    res = cli("run", "--period", "2026-11", "--no-publish", "--config", str(force))
    assert res.exit_code == 2, res.output
    assert "the data reaches 2026-10-" in flat(res.output) and "--allow-beyond-data" in flat(res.output)
    allowed = cli("run", "--period", "2026-11", "--no-publish", "--allow-beyond-data", "--config", str(force))
    assert allowed.exit_code in (0, 3), allowed.output


def test_run_due_waits_for_data_instead_of_auditing_beyond_it(force):
    res = cli("schedule", "run-due", "--config", str(force))
    assert res.exit_code == 0, res.output
    assert "waiting for data" in flat(res.output) and "2026-10-" in flat(res.output)
    assert cli("runs", "list", "--config", str(force)).output.count("2026-11") == 0


# ---- 3. the overdue period of a store that never had a scheduler ---------------------------

def test_status_shows_the_overdue_period_of_a_store_without_scheduler(bare):
    res = cli("schedule", "status", "--config", str(bare))
    assert res.exit_code == 0, res.output
    assert "overdue" in res.output and last_fired_period() in res.output


def test_the_scheduler_runs_the_overdue_period_at_first_start(bare):
    cfg = settings_mod.load(bare)
    FAKE_RUNS.clear()
    assert scheduler.catch_up_on_first_start(cfg, "test_cli_edges:fake_runner") == [(last_fired_period(), "ran")]
    assert FAKE_RUNS == [last_fired_period()]


def test_the_daemon_runs_the_overdue_period_before_it_starts(bare, monkeypatch):
    ran: list[str] = []

    class Idle:
        def start(self):
            return None

    monkeypatch.setattr(scheduler, "run_once", lambda settings, period, runner: ran.append(str(period)) or "ran")
    monkeypatch.setattr(scheduler, "build_scheduler", lambda settings: Idle())
    monkeypatch.setattr(scheduler, "setup_logging", lambda settings: None)
    res = cli("schedule", "--config", str(bare))
    assert res.exit_code == 0, res.output
    assert ran == [last_fired_period()]
    assert f"overdue {last_fired_period()}" in flat(res.output)


# ---- 4. unchecked alerts input ---------------------------------------------------------------

@pytest.mark.parametrize("option,value,allowed", [("--status", "bogus", "new, in_review"),
                                                  ("--level", "bogus", "critical, high"),
                                                  ("--period", "2026-13", "YYYY-MM")])
def test_alerts_list_refuses_unknown_values(bare, option, value, allowed):
    res = cli("alerts", "list", "--config", str(bare), option, value)
    assert res.exit_code == 2, res.output
    assert allowed in flat(res.output)


@pytest.fixture(scope="module")
def accounts(audited):
    from audit.web.users import add_user, set_active

    store = open_store(settings_mod.load(audited).store_url)
    try:
        for name, role in (("ccu1", "ccu"), ("auditor1", "auditor"), ("gone1", "ccu")):
            add_user(store, name, role, "a-long-enough-password-1", actor="test")
        set_active(store, "gone1", False, actor="test")
    finally:
        store.dispose()
    return audited


def test_alerts_assign_refuses_an_assignee_who_may_not_take_it(accounts):
    listed = json.loads(cli("alerts", "list", "--json", "--config", str(accounts)).stdout)
    aid = str(listed[0]["id"])
    for who, why in (("nobody_such_user", "no such account"), ("gone1", "disabled"),
                     ("auditor1", "does not work alerts")):
        res = cli("alerts", "assign", aid, "--to", who, "--config", str(accounts))
        assert res.exit_code == 2 and why in flat(res.output), (who, res.output)
    ok = cli("alerts", "assign", aid, "--to", "ccu1", "--config", str(accounts))
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("args", [["show", "999999"], ["review", "999999", "--status", "in_review", "--note", "x"],
                                  ["assign", "999999", "--to", "ccu1"],
                                  ["suppress", "999999", "--reason", "x", "--until", "2099-01-01"]])
def test_no_such_alert_is_exit_1_everywhere(accounts, args):
    res = cli("alerts", *args, "--config", str(accounts))
    assert res.exit_code == 1, res.output
    assert "there is no alert 999999" in flat(res.output)
