"""config.toml -> Settings: clear errors, secrets only from the environment, paths anchored."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from audit import registers
from audit import settings as S
from audit.period import Period


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_the_embedded_config_loads_and_every_source_names_a_known_register():
    s = S.load()
    assert s.sources and {src.register for src in s.sources} <= set(registers.names())
    assert s.store_url.startswith("sqlite:///" + str(Path(S.DEFAULT_CONFIG).parent))


def test_unknown_keys_and_wrong_types_are_all_reported_with_the_file_and_key(tmp_path):
    cfg = _write(tmp_path, '[store]\nurl = 5\nbogus = 1\n[[sources]]\nname = "x"\nregister = "expenses"\n'
                           'kind = "csv"\npath = "a.csv"\ncolour = "red"\n')
    with pytest.raises(S.SettingsError) as e:
        S.load(cfg)
    text = str(e.value)
    assert str(cfg) in text and "3 problem(s)" in text
    assert "store.url" in text and "store.bogus: unknown key" in text and "sources.0.colour: unknown key" in text


def test_a_missing_file_and_bad_toml_say_so(tmp_path):
    with pytest.raises(S.SettingsError, match="config file not found"):
        S.load(tmp_path / "nope.toml")
    with pytest.raises(S.SettingsError, match="not valid TOML"):
        S.load(_write(tmp_path, "[store\n"))


def test_secrets_come_from_the_environment_and_a_missing_variable_names_the_key(tmp_path, monkeypatch):
    s = S.load(_write(tmp_path, '[store]\nurl = "${IA_TEST_STORE}"\n'))
    monkeypatch.delenv("IA_TEST_STORE", raising=False)
    with pytest.raises(S.SettingsError, match=r"store.url refers to \$\{IA_TEST_STORE\}"):
        _ = s.store_url
    monkeypatch.setenv("IA_TEST_STORE", "postgresql+psycopg://u:secret@db/audit")
    assert s.store_url == "postgresql+psycopg://u:secret@db/audit"


def test_an_smtp_password_written_in_the_file_is_refused(tmp_path):
    cfg = _write(tmp_path, '[[exports.destinations]]\nname = "ccu"\nkind = "smtp"\nhost = "mail"\n'
                           'sender = "a@b"\nrecipients = ["c@d"]\npassword = "hunter2"\n')
    with pytest.raises(S.SettingsError, match="password must be an environment reference"):
        S.load(cfg)


def test_relative_paths_follow_the_config_file_not_the_working_folder(tmp_path, monkeypatch):
    sub = tmp_path / "force"
    sub.mkdir()
    s = S.load(_write(sub, '[store]\nurl = "sqlite:///data/a.db"\n[audit]\ndata_dir = "work"\n'))
    monkeypatch.chdir(tmp_path)
    assert s.store_url == f"sqlite:///{sub}/data/a.db"
    assert s.data_dir == sub / "work"


def test_duplicate_source_names_are_refused(tmp_path):
    src = '[[sources]]\nname = "g"\nregister = "gifts_hospitality"\nkind = "csv"\npath = "g.csv"\n'
    with pytest.raises(S.SettingsError, match="source name 'g' is used twice"):
        S.load(_write(tmp_path, src + src))


@pytest.mark.parametrize("text,start,end", [("2026-10", date(2026, 10, 1), date(2026, 10, 31)),
                                            ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
                                            ("2026-12", date(2026, 12, 1), date(2026, 12, 31))])
def test_periods_are_calendar_months(text, start, end):
    p = Period.parse(text)
    assert (p.start, p.end, str(p)) == (start, end, text)
    assert p.next().previous() == p and start in p and end in p and end.replace(day=1) in p


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "October"])
def test_a_malformed_period_is_refused_with_an_example(bad):
    with pytest.raises(ValueError, match="YYYY-MM"):
        Period.parse(bad)
