"""`integrity-audit audit verify`: check the hash chain of the audit trail."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from audit.cli.common import ConfigOption, console, fail
from audit.cli.runs_cmd import open_store_from
from audit.store import trail

audit_app = typer.Typer(help="The audit trail of every run, view and decision.", no_args_is_help=True)


@audit_app.command("verify")
def verify_cmd(config: Optional[Path] = ConfigOption) -> None:
    """Recompute the audit trail's hash chain; exit 1 naming the first broken link."""
    store = open_store_from(config)
    broken = trail.verify(store)
    if broken is not None:
        fail(f"the audit trail is broken at event seq {broken}: that event (or the one before it) was "
             f"changed, inserted or removed after it was written", code=1)
    console.print("audit trail intact")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
