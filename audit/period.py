"""Audit periods: a calendar month, written YYYY-MM."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        m = _PERIOD.match(text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"period {text!r} is not a month written YYYY-MM (e.g. 2026-10)")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def containing(cls, day: date) -> "Period":
        return cls(day.year, day.month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """Last day of the month (inclusive)."""
        return self.next().start - timedelta(days=1)

    def next(self) -> "Period":
        return Period(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> "Period":
        return Period(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class PeriodRefused(ValueError):
    """A period that must not be audited (yet): `reason` is "future" or "beyond_data"."""

    def __init__(self, message: str, reason: str, data_end: date | None = None):
        super().__init__(message)
        self.reason, self.data_end = reason, data_end


def data_end(load) -> date | None:
    """The latest date of any row of an event register in loaded sources (None when no event
    register loaded: nothing to judge by, e.g. no sources, or every event source failed, which the
    run itself reports)."""
    import pandas as pd

    from audit import registers

    latest = None
    for frame in load.frames:
        reg = registers.get(frame.register)
        if reg.kind != "event" or not reg.date_field or frame.df.empty or reg.date_field not in frame.df:
            continue
        top = pd.to_datetime(frame.df[reg.date_field], errors="coerce").max()
        if pd.notna(top) and (latest is None or top.date() > latest):
            latest = top.date()
    return latest


def check_auditable(settings, period: Period, today: date | None = None, *,
                    allow_beyond_data: bool = False):
    """Raise PeriodRefused unless `period` may be audited now, by `run` and by the scheduler alike:
    never a month after the current one (`today`, default date.today()); never a month after the
    end of every source's data (no event-register row dated in or after it) unless allow_beyond_data
    (the rules that look for something overdue would all fire on a month with no data yet).
    Returns the sources it loaded to judge (connectors.LoadResult, for the run to use rather than
    read them twice), or None."""
    import connectors

    today = today or date.today()
    if period > Period.containing(today):
        raise PeriodRefused(f"period {period} is in the future (today is {today:%Y-%m-%d}): "
                            "only a month that has begun can be audited", "future")
    if allow_beyond_data:
        return None
    try:
        from audit.streamed import split

        load = connectors.load_sources(split(settings.sources)[0], settings.base_dir)  # (a streamed log: not whole)
    except Exception:  # noqa: BLE001 - the run itself loads the sources again and reports the failure
        return None
    end = data_end(load)
    if end is not None and end < period.start:
        raise PeriodRefused(
            f"no source has data for {period}: the data reaches {end:%Y-%m-%d} (the latest dated row of any "
            f"event register), so {period} is waiting for data; audit {Period.containing(end)} or earlier, "
            "or pass --allow-beyond-data to audit it anyway", "beyond_data", end)
    return load
