"""Delivery of a run's exports to the CCU: a folder (atomic writes, one subfolder per period) or
SMTP (STARTTLS when configured, credentials from ${ENV} references), each retried with backoff.

A failed delivery never loses anything: the files stay in the run's output folder, and the
result (status, attempts, error) is returned for the caller to record on the run.
"""
from __future__ import annotations

import mimetypes
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

from audit.settings import Destination, SettingsError, expand_env
from audit.store.views import RunView

from reports.atomic import write_atomic
from reports.export import ExportFiles, manifest_bytes

SMTP_TIMEOUT = 30


@dataclass
class DeliveryResult:
    destination: str
    kind: str
    status: str  # delivered | failed
    attempts: int
    at: datetime
    error: str | None = None
    location: str | None = None
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"destination": self.destination, "kind": self.kind, "status": self.status,
                "attempts": self.attempts, "at": self.at.isoformat(), "error": self.error,
                "location": self.location, "files": self.files}


def selected(files: ExportFiles, dest: Destination, report: Path | None) -> tuple[list[Path], bytes]:
    """The files this destination takes (its formats) and a manifest listing exactly those."""
    chosen = [p for fmt in dest.formats if fmt != "html" for p in files.by_format.get(fmt, [])]
    if "html" in dest.formats and report is not None:
        chosen.append(report)
    names = {p.name for p in chosen}
    manifest = dict(files.manifest, destination=dest.name,
                    files=[e for e in files.manifest.get("files", []) if e["name"] in names])
    missing = names - {e["name"] for e in manifest["files"]}
    if missing:
        raise ValueError(f"files not in the manifest: {sorted(missing)}")
    return chosen, manifest_bytes(manifest)


def _to_folder(run: RunView, dest: Destination, chosen: list[Path], manifest: bytes) -> str:
    target = Path(expand_env(dest.path or "", f"destination {dest.name}.path")) / run.period
    for p in chosen:
        write_atomic(target / p.name, p.read_bytes())
    write_atomic(target / "manifest.json", manifest)  # last: its arrival means the set is complete
    return str(target)


def _message(run: RunView, dest: Destination, chosen: list[Path], manifest: bytes,
             force_name: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"Integrity audit {run.period}: exports (run {run.id})"
    msg["From"] = dest.sender
    msg["To"] = ", ".join(dest.recipients)
    status = "INCOMPLETE - see the report" if run.incomplete else "complete"
    msg.set_content(
        f"{force_name or 'Integrity audit'}: exports for {run.period}, run {run.id} ({status}).\n"
        f"{len(run.alerts)} alerts. Attached: {len(chosen)} file(s) and manifest.json with the "
        "SHA-256 of each.\nThis message contains OFFICIAL-SENSITIVE personal data.\n")
    for p in chosen + [None]:
        data = manifest if p is None else p.read_bytes()
        name = "manifest.json" if p is None else p.name
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _by_smtp(run: RunView, dest: Destination, chosen: list[Path], manifest: bytes,
             force_name: str) -> str:
    msg = _message(run, dest, chosen, manifest, force_name)
    user = expand_env(dest.username, f"destination {dest.name}.username") if dest.username else None
    password = expand_env(dest.password, f"destination {dest.name}.password") if dest.password else None
    with smtplib.SMTP(dest.host, dest.port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.ehlo()
        if dest.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if user:
            smtp.login(user, password or "")
        refused = smtp.send_message(msg)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)
    return f"smtp://{dest.host}:{dest.port} -> {', '.join(dest.recipients)}"


def deliver(run: RunView, files: ExportFiles, destinations: list[Destination], *,
            report: Path | None = None, force_name: str = "", backoff: float = 2.0,
            sleep: Callable[[float], None] = time.sleep) -> list[DeliveryResult]:
    """Send the exports to every destination; never raises for a delivery failure."""
    results = []
    for dest in destinations:
        attempts, error, location, names = 0, None, None, []
        for attempt in range(dest.retries + 1):
            attempts = attempt + 1
            try:
                chosen, manifest = selected(files, dest, report)
                names = [p.name for p in chosen] + ["manifest.json"]
                if dest.kind == "folder":
                    location = _to_folder(run, dest, chosen, manifest)
                else:
                    location = _by_smtp(run, dest, chosen, manifest, force_name)
                error = None
                break
            except (SettingsError, ValueError) as e:  # configuration: retrying cannot help
                error = str(e)
                break
            except Exception as e:  # noqa: BLE001 - every failure is recorded, then retried
                error = f"{type(e).__name__}: {e}"
                if attempt < dest.retries:
                    sleep(backoff * (2 ** attempt))
        results.append(DeliveryResult(
            destination=dest.name, kind=dest.kind, status="failed" if error else "delivered",
            attempts=attempts, at=datetime.now(timezone.utc), error=error, location=location,
            files=names))
    return results
