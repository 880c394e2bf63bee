"""``python -m trim_telemetry_otel.django [test args]``: ``manage.py test`` with telemetry.

Needs ``DJANGO_SETTINGS_MODULE`` (or ``--settings``); every option of ``manage.py test`` works,
plus ``--telemetry-dir DIR``. Exits as ``manage.py test`` does (1 when a test failed).
"""

from __future__ import annotations

import importlib.util
import os
import sys

from . import MISSING_DJANGO

PROG = f"{os.path.basename(sys.executable)} -m trim_telemetry_otel.django"
RUNNER = "trim_telemetry_otel.django.TelemetryTestRunner"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if importlib.util.find_spec("django") is None:
        sys.stderr.write(f"{PROG}: error: {MISSING_DJANGO.format(python=sys.executable)}\n")
        sys.exit(2)
    if not os.environ.get("DJANGO_SETTINGS_MODULE") and not any(
        arg.startswith("--settings") for arg in args
    ):
        sys.stderr.write(
            f"{PROG}: error: DJANGO_SETTINGS_MODULE is not set: name your settings module, e.g.\n"
            f"  DJANGO_SETTINGS_MODULE=mysite.settings {PROG} [test args]\n"
        )
        sys.exit(2)

    from ..provider import get_telemetry
    from ..settings import EnvSettings, SettingsError

    try:
        enabled = EnvSettings.read().enabled
    except SettingsError as error:
        sys.stderr.write(f"{PROG}: error: {error}\n")
        sys.exit(2)
    if enabled is not False:
        get_telemetry()  # instrument before django.setup() imports the apps

    if _runs_in_parallel(args) and importlib.util.find_spec("tblib") is None:
        sys.stderr.write(
            f"{PROG}: note: --parallel without tblib: Django cannot send a failing test's "
            "traceback back from a worker and ends the run at the first failure; "
            "pip install 'trim-telemetry-otel[django]' (or tblib)\n"
        )

    from django.core.management import execute_from_command_line

    execute_from_command_line([PROG, "test", f"--testrunner={RUNNER}", *args])


def _runs_in_parallel(args: list[str]) -> bool:
    for index, arg in enumerate(args):
        if arg.startswith("--parallel"):
            value = arg.partition("=")[2] or (args[index + 1] if index + 1 < len(args) else "")
            return value != "1"  # bare --parallel and "auto" mean one worker per core
    return os.environ.get("DJANGO_TEST_PROCESSES", "1") != "1"


if __name__ == "__main__":
    main()
