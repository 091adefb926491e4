"""A source's "no end date" cells (31/12/9999 read as blank) are not silent after the run: the
count goes from the load through the store into the HTML report and `runs show`."""
from __future__ import annotations

import dataclasses

from typer.testing import CliRunner

import connectors
from audit import pipeline
from audit.cli import app
from audit.store import open_store, record_run
from audit.store.queries import run_view
from report_fixtures import store_run_factory
from reports import html

NOTE = "2 cell(s) in end_date read as open-ended (9999-12-31 and similar)"


def test_open_ended_cells_reach_the_report_and_runs_show(tmp_path):
    (tmp_path / "hr.csv").write_text("No,First,Last,Leaving\n1,Ann,Lee,31/12/9999\n2,Bob,Roe,9999-12-31\n"
                                     "3,Cy,Poe,30/06/2026\n")
    hr = connectors.SourceConfig(name="hr", register="workforce", kind="csv", path="hr.csv",
                                 columns={"No": "person_id", "First": "first_name", "Last": "last_name",
                                          "Leaving": "end_date"})
    load = connectors.load_sources([hr], tmp_path)
    (loaded,) = pipeline._source_inputs(load)
    assert loaded.files[0]["open_ended"] == {"end_date": 2}

    run = store_run_factory().build("2026-03", range(1, 3))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    try:
        run_id = record_run(store, dataclasses.replace(run, sources=[*run.sources, loaded])).run_id
        view = run_view(store, run_id)
    finally:
        store.dispose()
    page = html.render(view)
    quality = page.split('id="data-quality"')[1].split("</section>")[0]
    assert f"<li>hr: {NOTE}</li>" in quality
    assert quality.count("<li>") == 1  # the gifts source had none: no line for it

    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{url}"\n')
    shown = CliRunner().invoke(app, ["runs", "show", str(run_id), "--config", str(config)])
    assert shown.exit_code == 0, shown.output
    assert NOTE in " ".join(shown.output.split())
