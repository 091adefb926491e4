"""The review web app (issue 8): PSD reviewers, the CCU and auditors work the alerts in a browser.

Server-rendered (Starlette + Jinja2, autoescape on), no scripts inline, no CDN. Owns accounts and
sessions (users), who may see and do what (access), the queue queries (queue), the rules and run
output views (catalogue, outputs), security headers and error pages (security), the request
pipeline (pages) and the routes (routes_*). May import audit.store, reports, audit.settings and
audit.registers only; every change to an alert goes through audit.store.lifecycle (take next:
queue.take_next), and every view, download and action is an audit event.
"""
from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):
    from audit.web.app import create_app as _create

    return _create(*args, **kwargs)
