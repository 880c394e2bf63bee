"""Settings shared by every entry point, read from the environment through one small class."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .runs import check_run_id

ENABLED_ENV = "TRIM_TELEMETRY"
DIR_ENV = "TRIM_TELEMETRY_DIR"
RUN_ID_ENV = "TRIM_TELEMETRY_RUN_ID"
PROPAGATE_ENV = "TRIM_TELEMETRY_PROPAGATE"  # read by propagation.py; checked here with the rest
DEFAULT_DIR = ".telemetry"
EXPORTER_NAME = "trim_ndjson"  # ours, in the opentelemetry_traces_exporter entry-point group

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def traces_exporter_names(environ: Mapping[str, str]) -> list[str] | None:
    """``OTEL_TRACES_EXPORTER`` as a list of lower-case names; None when it is not set."""
    value = environ.get("OTEL_TRACES_EXPORTER")
    if value is None or not value.strip():
        return None
    return [name.strip().lower() for name in value.split(",") if name.strip()]


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


# The OTEL_* variables that the pipeline we build reads (we, the SDK's TracerProvider and its OTLP
# exporters), checked before anything reads them. They are shared with every other OpenTelemetry
# program of the environment, and what they configure is an extra (forwarding) or a detail (span
# limits), so a bad one never stops a run: it is named in a warning and the default is used.
_FORWARDING_NUMBERS = ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
_FORWARDING_INTEGERS = (
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
)
_FORWARDING_CHOICES = {
    "OTEL_EXPORTER_OTLP_PROTOCOL": ("grpc", "http/protobuf"),
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": ("grpc", "http/protobuf"),
    "OTEL_EXPORTER_OTLP_COMPRESSION": ("none", "gzip", "deflate"),
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": ("none", "gzip", "deflate"),
}
_FORWARDING_FILES = tuple(
    f"OTEL_EXPORTER_OTLP_{signal}{name}"
    for signal in ("", "TRACES_")
    for name in ("CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE")
)
_FORWARDING_URLS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
#: Span limits and the ``SpanLimits`` argument each sets, with the SDK's default for it.
SPAN_LIMITS: dict[str, tuple[str, int | None]] = {
    "OTEL_ATTRIBUTE_COUNT_LIMIT": ("max_attributes", 128),
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": ("max_span_attributes", 128),
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": ("max_event_attributes", 128),
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": ("max_link_attributes", 128),
    "OTEL_SPAN_EVENT_COUNT_LIMIT": ("max_events", 128),
    "OTEL_SPAN_LINK_COUNT_LIMIT": ("max_links", 128),
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": ("max_attribute_length", None),
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": ("max_span_attribute_length", None),
}


@dataclass(frozen=True)
class OtelProblems:
    """Bad ``OTEL_*`` values, each message naming its variable."""

    forwarding: tuple[str, ...] = ()  # any of these: spans are not forwarded this run
    span_limits: tuple[str, ...] = ()  # messages; the SDK's default is used for each
    bad_limits: tuple[str, ...] = ()  # the variables of span_limits


def check_otel_environment(environ: Mapping[str, str] | None = None) -> OtelProblems:
    env = os.environ if environ is None else environ
    forwarding: list[str] = []
    for name in _FORWARDING_NUMBERS:
        if not _is_number(env.get(name), float):
            forwarding.append(f"{_shown(name, env)} is not a number of seconds")
    for name in _FORWARDING_INTEGERS:
        if not _is_number(env.get(name), int):
            forwarding.append(f"{_shown(name, env)} is not a whole number")
    for name, choices in _FORWARDING_CHOICES.items():
        value = env.get(name)
        if value and value.strip().lower() not in choices:
            forwarding.append(f"{_shown(name, env)} is not one of {', '.join(choices)}")
    for name in _FORWARDING_FILES:
        value = env.get(name)
        if value and not os.path.isfile(value):
            forwarding.append(f"{_shown(name, env)} names no readable file")
    for name in _FORWARDING_URLS:
        value = env.get(name)
        if value and not _is_url(value):
            forwarding.append(f"{_shown(name, env)} is not a URL")
    bad = tuple(name for name in SPAN_LIMITS if not _is_limit(env.get(name)))
    limits = tuple(
        f"{_shown(name, env)} is not a non-negative whole number (or 'unset'): "
        "the default limit is used"
        for name in bad
    )
    return OtelProblems(tuple(forwarding), limits, bad)


def _shown(name: str, env: Mapping[str, str]) -> str:
    return f"{name}={env.get(name)!r}"


def _is_number(value: str | None, kind: type[float] | type[int]) -> bool:
    if value is None or not value.strip():
        return True
    try:
        return kind(value.strip()) >= 0
    except ValueError:
        return False


def _is_limit(value: str | None) -> bool:
    if value is None or value.strip().lower() == "unset":
        return True
    try:
        return int(value.strip()) >= 0
    except ValueError:
        return False


def _is_url(value: str) -> bool:
    from urllib.parse import urlsplit

    try:
        urlsplit(value).port  # noqa: B018  # raises for a bad port or IPv6 literal
    except ValueError:
        return False
    return True


def guard_the_sdk_import() -> None:
    """Make sure that importing ``opentelemetry.sdk.trace`` cannot fail for a bad span limit.

    That module reads ``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`` into a module constant (kept for
    backward compatibility) and raises ``ValueError`` for a bad value, which under the auto-loaded
    pytest plugin would break every pytest run of the environment. With a bad value the SDK is
    imported here, the variable hidden for the length of that import only;
    :func:`check_otel_environment` then names it and the default is used. With a usable value (or
    none) there is nothing to guard and nothing is imported: the SDK's own import later reads the
    same value, and a command that never needs the SDK (``trim-telemetry``) never pays for it.
    The package's ``__init__`` calls this, so it runs before any of our modules imports the SDK.
    """
    name = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"
    value = os.environ.get(name)
    if value is None or _is_limit(value) or "opentelemetry.sdk.trace" in sys.modules:
        return
    del os.environ[name]
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    finally:
        os.environ[name] = value
