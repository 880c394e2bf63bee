"""Times as records write them: ISO 8601 in UTC with microseconds."""

from __future__ import annotations

import math
from datetime import datetime, timezone


def iso_time(time_ns: int | None) -> str:
    """ISO 8601 in UTC with microseconds, the same width on every line.

    Exactly ``datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc).isoformat(timespec=
    "microseconds")``, microseconds rounded half to even from the same float as CPython does, but
    the date and time of day are worked out once per second rather than once per call.
    """
    global _iso_second
    fraction, whole = math.modf((time_ns or 0) / 1e9)
    micros = round(fraction * 1e6)
    second = int(whole)
    if micros >= 1_000_000:
        micros -= 1_000_000
        second += 1
    cached_second, prefix = _iso_second
    if second != cached_second or micros < 0:
        if micros < 0:  # before 1970: not a test's time, but stay exact
            return _iso_time_slowly(time_ns or 0)
        prefix = datetime.fromtimestamp(second, tz=timezone.utc).isoformat()[:19]
        _iso_second = (second, prefix)  # one tuple: threads see the pair or the one before
    return f"{prefix}.{micros:06d}+00:00"


def _iso_time_slowly(time_ns: int) -> str:
    moment = datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds")


_iso_second: tuple[int, str] = (-1, "")  # the last second formatted, and its text
