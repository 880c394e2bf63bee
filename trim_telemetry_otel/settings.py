"""Settings shared by every entry point, read from the environment through one small class."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .runs import check_run_id

ENABLED_ENV = "TRIM_TELEMETRY"
DIR_ENV = "TRIM_TELEMETRY_DIR"
RUN_ID_ENV = "TRIM_TELEMETRY_RUN_ID"
PROPAGATE_ENV = "TRIM_TELEMETRY_PROPAGATE"  # read by propagation.py; checked here with the rest
DEFAULT_DIR = ".telemetry"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message says which and what is allowed."""


def parse_flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off")


@dataclass(frozen=True)
class EnvSettings:
    """What the environment says; ``None`` means it says nothing."""

    enabled: bool | None
    directory: Path | None
    run_id: str | None

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> EnvSettings:
        env = os.environ if environ is None else environ
        enabled = env.get(ENABLED_ENV)
        directory = env.get(DIR_ENV)
        run_id = env.get(RUN_ID_ENV)
        if env.get(PROPAGATE_ENV, "").strip():
            parse_flag(PROPAGATE_ENV, env[PROPAGATE_ENV])
        try:
            checked_run_id = check_run_id(run_id) if run_id else None
        except ValueError as error:
            raise SettingsError(f"{RUN_ID_ENV}: {error}") from None
        return cls(
            enabled=parse_flag(ENABLED_ENV, enabled) if enabled is not None else None,
            directory=Path(directory) if directory else None,
            run_id=checked_run_id,
        )
