"""A run's report and exports as downloads: the files in settings.exports.out_dir/<period>/,
and who may fetch each. Names are looked up in a listing of the folder, never joined from the
request, so no path can escape it.

Need-to-know (audit.web.access.file_allowed): the files are the CCU's; the reviewers' report variant
and the manifest count alerts that a scoped reviewer may not see, so reviewers and auditors get the
report rendered for them instead (routes_runs /runs/<id>/report).

Whose files: the folder holds one run's set, swapped in whole by reports.publishing; its
manifest.json names the run (`owner`). A run's page offers the files only when they are its own
and it is published (routes_runs), so a failed, running or unpublished run never shows, and never
serves, another run's report.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit.settings import Settings
from audit.web.users import User

MAX_FILES = 500


@dataclass(frozen=True)
class OutputFile:
    name: str  # relative to the period folder, "/"-separated
    path: Path
    size: int


def folder(settings: Settings, period: str) -> Path:
    return settings.resolve_path(settings.exports.out_dir) / period


def owner(settings: Settings, period: str) -> int | None:
    """The run whose outputs the period's folder holds, as its manifest says (None: none named)."""
    from reports.publishing import folder_run_id

    return folder_run_id(folder(settings, period))


def listing(settings: Settings, period: str) -> list[OutputFile]:
    base = folder(settings, period)
    if not base.is_dir():
        return []
    out = []
    for p in sorted(base.rglob("*")):
        if p.is_file() and not p.is_symlink() and not p.name.startswith("."):
            name = p.relative_to(base).as_posix()
            out.append(OutputFile(name=name, path=p, size=p.stat().st_size))
            if len(out) >= MAX_FILES:
                break
    return out


def allowed(user: User, f: OutputFile) -> bool:
    from audit.web.access import file_allowed

    return file_allowed(user)


def find(settings: Settings, period: str, name: str) -> OutputFile | None:
    return next((f for f in listing(settings, period) if f.name == name), None)
