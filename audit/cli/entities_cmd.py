"""`integrity-audit entities explain|overrides`: see how names were linked, check the overrides file."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

import connectors
from audit import display
from audit.cli.common import ConfigOption, JsonOption, console, friendly_errors, load_settings, print_json
from audit.entities import OverridesError, resolve
from audit.entities.overrides import load as load_overrides


def explain(config: Optional[Path] = ConfigOption,
            text: Optional[str] = typer.Option(None, "--text", "-t", help="Only links whose text contains this"),
            key: Optional[str] = typer.Option(None, "--key", "-k", help="Only links to this key (e.g. CN:01234567)"),
            weak: bool = typer.Option(False, "--weak", help="Only weak links"),
            limit: int = typer.Option(50, min=1, help="Rows to show"),
            as_json: bool = JsonOption) -> None:
    """Load the sources, resolve entities and show the evidence: method, score, both strings."""
    settings = load_settings(config)
    with friendly_errors(OverridesError):
        loaded = connectors.load_sources(settings.sources, settings.base_dir)
        frames = {r: df for r, df in loaded.by_register().items() if not df.empty}
        with console.status("resolving entities"):
            res = resolve(frames, settings.entities, overrides=settings.overrides_in_force)
    links = res.links
    if text:
        links = links[links["source_text"].str.contains(text, case=False, regex=False)
                      | links["matched_text"].str.contains(text, case=False, regex=False)]
    if key:
        links = links[links["key"] == key]
    if weak:
        links = links[links["strength"] == "weak"]
    links = links.drop_duplicates(["register", "field", "key", "method", "source_text", "matched_text"]).head(limit)
    if as_json:
        print_json({"stats": res.stats, "links": links.to_dict("records"),
                    "unresolved": res.unresolved.head(limit).to_dict("records")})
        return
    table = Table(title=f"Entity links ({len(links)} shown)")
    for c in ("text", "linked to", "key", "register", "field", "method", "score", "strength"):
        table.add_column(c)
    for r in links.itertuples():
        table.add_row(r.source_text, r.matched_text, r.key, r.register, r.field, display.code(r.method),
                      f"{r.score:.1f}", r.strength)
    console.print(table, highlight=False)
    console.print(f"not linked: {display.counts(res.stats['unresolved_by_reason'])}", highlight=False)
    console.print(f"links by method: {display.counts(res.stats['links_by_method'])}", highlight=False)
    console.print(f"organisation name pairs compared: {res.stats.get('org_candidate_pairs', 0):,} of "
                  f"{res.stats.get('org_all_pairs', 0):,} possible", highlight=False)


def overrides(config: Optional[Path] = ConfigOption, as_json: bool = JsonOption) -> None:
    """Validate the overrides CSV named by entities.overrides in config.toml and list its decisions;
    exit 2 if it is invalid."""
    settings = load_settings(config)
    path = settings.overrides_in_force
    if path is None:
        if as_json:
            print_json({"file": None, "decisions": []})
            return
        console.print(f"no overrides: entities.overrides is not configured and {settings.overrides_file} "
                      "holds no recorded decision", markup=False)
        return
    with friendly_errors(OverridesError):
        items = load_overrides(path).items
    if as_json:
        print_json({"file": str(path), "decisions": items})
        return
    table = Table(title=f"{path} ({len(items)} decisions)")
    for c in ("kind", "left", "right", "decision", "who", "when", "why"):
        table.add_column(c)
    for o in items:
        table.add_row(o.kind, o.left, o.right, o.decision, o.who, o.when, o.why)
    console.print(table)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Entity resolution: evidence for links and the analysts' overrides.", no_args_is_help=True)
    group.command("explain")(explain)
    group.command("overrides")(overrides)
    app.add_typer(group, name="entities")
