"""How the package tells the user that something of ours went wrong, without touching the test.

Two channels, both where the user looks whatever logging set-up the suite has:

- :func:`warn_now` for problems found before any test (a bad ``OTEL_*`` value, a run file that
  cannot be created): one line on stderr, never a Python warning (``-W error`` would turn it into
  an exception) and never only the log (pytest's logging plugin keeps records to itself);
- :class:`Tally` for problems met while tests run (records that could not be written, failures
  inside span callbacks, spans not forwarded): counted, and said in the run's closing summary.
  A tally travels from pytest-xdist workers to their controller as a plain dict.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("trim_telemetry_otel")

PREFIX = "trim-telemetry-otel"


class TelemetryWarning(UserWarning):
    """Raised as a warning for configuration problems found before any test runs."""


def warn_now(message: str) -> None:
    """Say ``message`` on stderr at once, as one line."""
    try:
        sys.stderr.write(f"{PREFIX}: WARNING: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone: nowhere left to say it
        pass


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class InternalErrors:
    """Counts failures inside span callbacks, keeping a one-line summary of each kind.

    Span callbacks run on the test's own thread: raising (or warning, which ``-W error`` turns into
    an exception) there would change the test's outcome, so failures are counted instead, said in
    the run's summary, and logged at DEBUG level (with the traceback) once per kind.
    """

    def __init__(self) -> None:
        self.count = 0
        self.kinds: dict[str, int] = {}  # "where: Type: message" -> how many times

    def record(self, where: str, error: BaseException) -> None:
        self.count += 1
        line = f"{where}: {one_line(error)}"
        key = line if len(self.kinds) < 50 else f"{where}: {type(error).__name__}"
        if key not in self.kinds:
            # DEBUG: the run's summary says it where the user looks; the traceback is for whoever
            # asks the log for it (a WARNING would print it mid-run, through logging's last resort).
            logger.debug("%s: %s failed: %r", PREFIX, where, error, exc_info=error)
        self.kinds[key] = self.kinds.get(key, 0) + 1


@dataclass
class Tally:
    """What went wrong in one process of a run (or, merged, in all of them)."""

    records_lost: int = 0
    write_problems: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    spans_sent: int = 0
    spans_not_sent: int = 0
    forwarding_failures: list[str] = field(default_factory=list)

    def add_errors(self, errors: InternalErrors) -> None:
        for line, count in errors.kinds.items():
            self.errors[line] = self.errors.get(line, 0) + count

    def merge(self, other: Tally) -> None:
        self.records_lost += other.records_lost
        self.write_problems += [p for p in other.write_problems if p not in self.write_problems]
        for line, count in other.errors.items():
            self.errors[line] = self.errors.get(line, 0) + count
        self.spans_sent += other.spans_sent
        self.spans_not_sent += other.spans_not_sent
        self.forwarding_failures += [
            f for f in other.forwarding_failures if f not in self.forwarding_failures
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_lost": self.records_lost,
            "write_problems": list(self.write_problems),
            "errors": dict(self.errors),
            "spans_sent": self.spans_sent,
            "spans_not_sent": self.spans_not_sent,
            "forwarding_failures": list(self.forwarding_failures),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        return cls(
            records_lost=int(data.get("records_lost", 0)),
            write_problems=[str(p) for p in data.get("write_problems", [])],
            errors={str(k): int(v) for k, v in dict(data.get("errors", {})).items()},
            spans_sent=int(data.get("spans_sent", 0)),
            spans_not_sent=int(data.get("spans_not_sent", 0)),
            forwarding_failures=[str(f) for f in data.get("forwarding_failures", [])],
        )

    def problem_lines(self) -> list[str]:
        """The warnings of the closing summary, one line each (errors: a line per kind)."""
        lines = []
        if self.records_lost:
            reason = "; ".join(self.write_problems) or "the writes failed"
            lines.append(f"WARNING: {self.records_lost} records not written: {reason}")
        elif self.write_problems:
            lines.append(f"WARNING: {'; '.join(self.write_problems)}")
        total = sum(self.errors.values())
        if total:
            lines.append(
                f"WARNING: {total} telemetry errors (no test was affected; tracebacks in the "
                f"'{logger.name}' log at DEBUG level):"
            )
            lines += [f"  {count} × {line}" for line, count in sorted(self.errors.items())]
        return lines
