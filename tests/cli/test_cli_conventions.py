"""CLI conventions of issue #17: one exit-code table, --json wherever something is shown or listed,
--version, shell completion, output that reads at 80 columns when piped, help on every option,
money in pounds, the quick start's install done once, the scheduler retrying a month waiting for
its data, and a warning when the web app has no administrator."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from audit import display, scheduler, settings as settings_mod
from audit.cli import app, common, exitcodes
from audit.store import open_store
from test_cli_edges import FAKE_RUNS, bare, cli, flat, generated, last_fired_period  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    """What a scheduled job's mail or a file gets: not a terminal, 80 columns."""
    for c in (common.console, common.err_console):
        monkeypatch.setattr(c, "_width", 80)


@pytest.fixture(scope="module")
def audited(generated, tmp_path_factory):
    """The generated force with 2026-10 audited and published: (config.toml, the run's output).
    Without INTEGRITY_AUDIT_HASH_KEY, so the development-key warning of two sources shows."""
    dst = tmp_path_factory.mktemp("conventions") / "force"
    shutil.copytree(generated, dst, ignore=shutil.ignore_patterns("data"))
    saved = os.environ.pop("INTEGRITY_AUDIT_HASH_KEY", None)
    try:
        for c in (common.console, common.err_console):
            c._width = 80
        res = cli("run", "--period", "2026-10", "--config", str(dst / "config.toml"))
    finally:
        for c in (common.console, common.err_console):
            c._width = None
        if saved is not None:
            os.environ["INTEGRITY_AUDIT_HASH_KEY"] = saved
    assert res.exit_code in (0, 3), res.output
    return dst / "config.toml", res.output


def commands():
    """Every (path, click command) of the CLI."""
    out = []

    def walk(c, path):
        out.append((path, c))
        for name, sub in getattr(c, "commands", {}).items():
            walk(sub, path + [name])
    walk(typer.main.get_command(app), [])
    return out


def listed(config, group: str) -> list[dict]:
    return json.loads(cli(group, "list", "--json", "--config", str(config)).stdout)


# ---- 1. one exit-code table --------------------------------------------------------------------

def test_exit_codes_are_one_table_and_documented():
    assert (exitcodes.OK, exitcodes.NOT_FOUND, exitcodes.USAGE, exitcodes.INCOMPLETE, exitcodes.LOCKED) == (0, 1, 2, 3, 4)
    for code, _ in exitcodes.TABLE:
        assert re.search(rf"^\| {code} \|", DOC, re.M), f"exit code {code} is not in docs/cli.md's table"


@pytest.mark.parametrize("args", [["alerts", "prove", "999999"], ["runs", "show", "999999"],
                                  ["users", "disable", "nobody_such_user"]])
def test_not_found_is_exit_1_for_every_command(audited, args):
    res = cli(*args, "--config", str(audited[0]))
    assert res.exit_code == exitcodes.NOT_FOUND, res.output
    assert "no alert 999999" in res.output or "no run 999999" in flat(res.output) or "no user" in res.output


# ---- 2. --json wherever something is shown or listed -------------------------------------------

def test_json_on_every_command_that_shows_or_lists(audited):
    config = str(audited[0])
    alert = listed(config, "alerts")[0]
    run = listed(config, "runs")[0]
    shown = {
        ("alerts", "show", str(alert["id"])): ("facts", "params", "values", "history"),
        ("runs", "show", str(run["id"])): ("counts", "sources", "deliveries", "published_at"),
        ("rules", "list"): None,
        ("schedule", "status"): ("next_run", "overdue", "last_runs", "failed_deliveries"),
        ("audit", "verify"): ("intact", "events", "problems", "warnings"),
        ("users", "list"): None,
    }
    for args, keys in shown.items():
        res = cli(*args, "--json", "--config", config)
        assert res.exit_code == 0, (args, res.output)
        data = json.loads(res.stdout)
        assert all(k in data for k in keys or ()), (args, data)
        assert f"`{' '.join(a for a in args if not a.isdigit())}" in DOC, f"{args} --json is not in docs/cli.md"
    assert json.loads(cli("rules", "list", "--json", "--config", config).stdout)[0]["name"]


LISTING = ("run", "alerts list", "alerts show", "runs list", "runs show", "rules list", "schedule status",
           "audit verify", "users list", "entities explain", "entities overrides", "sources check")


def test_every_listing_command_has_json():
    by_path = {" ".join(p): c for p, c in commands()}
    assert [name for name in LISTING if not any("--json" in prm.opts for prm in by_path[name].params)] == []


# ---- 3. --version and 4. shell completion -------------------------------------------------------

def test_version():
    res = cli("--version")
    assert res.exit_code == 0 and re.fullmatch(r"integrity-audit \S+\n", res.stdout), res.output


def test_shell_completion_is_installable():
    res = cli("--help")
    assert "--install-completion" in res.output and "--show-completion" in res.output


# ---- 5. readable at 80 columns when not a terminal ---------------------------------------------

def test_piped_tables_never_cut_a_word(audited):
    config = str(audited[0])
    for args in (["runs", "list"], ["rules", "list"], ["alerts", "list"]):
        out = cli(*args, "--config", config).output
        assert "…" not in out, (args, out)
        assert max(len(line) for line in out.splitlines()) <= 80, (args, out)
    rules = cli("rules", "list", "--config", config).output
    assert "procurement_supplier_created_and_paid_by_same_person" in rules and "registers:" in rules
    runs = cli("runs", "list", "--config", config).output
    assert "period: 2026-10" in runs


def test_the_run_output_keeps_every_rule_name(audited):
    out = audited[1]
    assert "…" not in out
    assert "procurement_supplier_created_and_paid_by_same_person" in out


def test_the_compact_alert_list_keeps_the_novelty(audited):
    out = cli("alerts", "list", "--config", str(audited[0])).output
    assert "novelty" in out and ", new, 2026-10," in out


def test_a_piped_process_at_80_columns_reads_whole(audited):
    """The real thing: a process whose stdout is a pipe, COLUMNS=80."""
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-m", "audit.cli", "runs", "list", "--config", str(audited[0])],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout and "status: succeeded" in proc.stdout


# ---- 6. help, wording, hints --------------------------------------------------------------------

def test_every_option_and_argument_has_help_and_no_type_placeholder():
    bare_help = [f"{' '.join(p)} {prm.name}" for p, c in commands() for prm in c.params
                 if not getattr(prm, "help", None) and not getattr(prm, "hidden", False)]
    assert bare_help == []
    for path, _ in commands():
        out = cli(*path, "--help").output
        assert "list[" not in out and "<list" not in out, (path, out)


def test_help_keeps_bracketed_words():
    assert "Propose a [[sources]] block" in flat(cli("sources", "suggest", "--help").output)
    assert "[web] host" in flat(cli("serve", "--help").output)


def test_suppress_scope_is_spelt_one_way(audited):
    aid = str(listed(audited[0], "alerts")[0]["id"])
    res = cli("alerts", "suppress", aid, "--reason", "x", "--until", "2099-01-01", "--scope", "person",
              "--config", str(audited[0]))
    assert res.exit_code == exitcodes.USAGE and "finding or rule-subject" in flat(res.output)
    assert "rule_subject" not in res.output


def test_rules_test_names_the_engine_of_each_line():
    rule = ROOT / "rules" / "library" / "expenses" / "expenses_split_under_limit.yaml"
    out = cli("rules", "test", str(rule)).output
    tests = len([ln for ln in out.splitlines() if ln.startswith(("PASS", "FAIL"))])
    assert tests and flat(out).count("(durable engine)") == flat(out).count("(reference engine)") == tests / 2


def test_the_next_hint_keeps_the_config(audited):
    assert f"next: integrity-audit alerts list --period 2026-10 --config {audited[0]}" in flat(audited[1])


def test_the_dev_hash_key_warning_is_said_once_per_run(audited):
    assert flat(audited[1]).count("INTEGRITY_AUDIT_HASH_KEY is not set") == 1


def test_a_note_on_a_complete_run_is_not_called_an_error(audited):
    out = cli("runs", "show", str(listed(audited[0], "runs")[0]["id"]), "--config", str(audited[0])).output
    assert "Error:" not in out and "Note: " in out and "first audit of" in flat(out)


def test_alert_show_reads_as_words_and_pounds(audited):
    config = str(audited[0])
    alerts = listed(config, "alerts")
    for a in alerts:
        shown = json.loads(cli("alerts", "show", str(a["id"]), "--json", "--config", config).stdout)
        text = flat(cli("alerts", "show", str(a["id"]), "--config", config).output)
        assert f"Alert {a['id']} [{a['level']}]" in text  # the level is not eaten as markup
        assert "Parameters in force {" not in text and "Parameters in force: " in text
        for fact in shown["facts"]:
            for field, value in fact["values"].items():
                if value is not None and display.field_type(fact["register"], field) == "money":
                    assert f"{field} = {display.pounds(value)}" in text, (field, value)
                    assert f"{field} = {value}," not in text and f"{field}={value}" not in text


def test_money_dates_and_codes_in_words():
    assert display.pounds(6500000) == "£65,000.00" and display.pounds(-1250) == "-£12.50"
    assert display.pounds(None) == "-"
    assert display.field_value("gifts_hospitality", "estimated_value", 65000) == "£650.00"
    assert display.mapping({}) == "none"
    assert display.mapping({"approval_limit": 10000, "window_days": 7},
                           {"approval_limit": "money", "window_days": "int"}) == \
        "approval_limit = £100.00; window_days = 7"
    assert display.counts({"unknown_id": 89}) == "unknown id 89"


def test_entities_explain_prints_no_raw_dict(audited):
    res = cli("entities", "explain", "--limit", "3", "--config", str(audited[0]))
    assert res.exit_code == 0, res.output
    assert "{'" not in res.output and "not linked:" in res.output


def test_schedule_status_keeps_the_schedules_time_zone_once_the_job_is_stored(bare):
    from apscheduler.schedulers.background import BackgroundScheduler

    sched = scheduler.build_scheduler(settings_mod.load(bare), "test_cli_edges:fake_runner", BackgroundScheduler)
    sched.start(paused=True)
    sched.shutdown()
    out = cli("schedule", "status", "--config", str(bare)).output
    assert "from the job store" in out and re.search(r"next run: \S+ \S+ (GMT|BST) ", out), out


# ---- 8. quick start -----------------------------------------------------------------------------

def test_bootstrap_installs_once_until_pyproject_changes(tmp_path):
    """A fake .venv whose python logs what it is asked: the second run installs nothing."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    bin_ = tmp_path / ".venv" / "bin"
    bin_.mkdir(parents=True)
    (bin_ / "python").write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/calls"\n'
                                 'case "$*" in *"install -e"*) echo "Collecting pandas"; '
                                 'touch "$(dirname "$0")/integrity-audit"; chmod +x "$(dirname "$0")/integrity-audit";; '
                                 '--version) echo "Python 3.11.7";; esac\n')
    (bin_ / "python").chmod(0o755)

    def bootstrap() -> tuple[int, str]:
        calls = bin_ / "calls"
        calls.unlink(missing_ok=True)
        proc = subprocess.run(["bash", str(tmp_path / "scripts" / "bootstrap.sh")], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        return (calls.read_text() if calls.exists() else "").count("pip install"), proc.stderr

    installs, progress = bootstrap()
    assert installs == 2 and "Collecting pandas" in progress  # pip, then the package; its progress shown
    assert bootstrap()[0] == 0  # unchanged: no install at all
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\ndependencies = ['rich']\n")
    assert bootstrap()[0] == 2


def test_serve_warns_when_no_administrator_exists(bare, monkeypatch):
    import uvicorn

    from audit.web.users import add_user

    store = open_store(settings_mod.load(bare).store_url)
    try:
        add_user(store, "jo", "reviewer", "a-long-enough-password-1", actor="test")
    finally:
        store.dispose()
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    res = cli("serve", "--config", str(bare))
    assert res.exit_code == 0, res.output
    assert "no enabled administrator account" in flat(res.output) and "--role admin" in res.output


# ---- 9. a month waiting for its data is retried by the daemon -----------------------------------

def test_the_daemon_retries_a_period_waiting_for_data(bare):
    from apscheduler.schedulers.background import BackgroundScheduler

    sched = scheduler.build_scheduler(settings_mod.load(bare), "test_cli_edges:fake_runner", BackgroundScheduler)
    job = sched.get_job(scheduler.RETRY_JOB_ID)
    assert job is not None and job.trigger.interval.total_seconds() == scheduler.RETRY_WAITING_HOURS * 3600
    FAKE_RUNS.clear()
    assert scheduler.retry_waiting(str(bare), "test_cli_edges:fake_runner") == [(last_fired_period(), "ran")]
    assert FAKE_RUNS == [last_fired_period()]


def test_assign_on_a_store_without_accounts_warns(audited):
    aid = str(listed(audited[0], "alerts")[0]["id"])
    res = cli("alerts", "assign", aid, "--to", "anyone", "--config", str(audited[0]))
    assert res.exit_code == 0 and "no user accounts" in flat(res.output), res.output


# ---- 10. docs/cli.md ---------------------------------------------------------------------------

def test_docs_name_every_command():
    for path, c in commands():
        if path and not hasattr(c, "commands"):
            assert f"`{' '.join(path)}" in DOC, f"{' '.join(path)} is not in docs/cli.md"
    assert "docs/cli.md" in (ROOT / "README.md").read_text(encoding="utf-8")
