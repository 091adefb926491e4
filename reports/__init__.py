"""Reports: the monthly HTML report, the CCU exports (CSV, XLSX, JSON + manifest) and their
delivery (folder, SMTP). Reads runs only through audit.store (views and queries); never imports
connectors, rules or the pipeline.

Modules: html (+ templates/, charts, summary), tables + export (+ cells, pseudonym, atomic),
deliver, publishing (publish(): the one call at the end of a run).
"""
from __future__ import annotations

__all__ = ["publish", "PublishResult"]


def __getattr__(name: str):
    # Lazy, so `import reports.export` does not pull in the store's SQLAlchemy models.
    if name in ("publish", "PublishResult"):
        from reports import publishing as _publish

        return getattr(_publish, name)
    raise AttributeError(name)
