"""``trim-telemetry`` (also ``python -m trim_telemetry_otel``): answers from the records.

Each command lives in a module of its own; this one only builds the parser and turns the
failures every command shares (a missing path, a closed pipe, Ctrl-C) into a message and an exit
status instead of a traceback.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys

from . import check, diff, flaky, html, junit, markdown, summary_command
from .options import ENCODING_ERRORS, EXIT_INPUT, EXIT_OK
from .reading import InputError

COMMANDS = (summary_command, diff, check, junit, markdown, html, flaky)


def build_parser(prog: str = "trim-telemetry") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Answers from trim-telemetry-otel run files: summaries, diffs, a CI gate, "
        "JUnit XML, a GitHub step summary, an HTML report, flaky tests.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.configure(commands)
    return parser


def main(argv: list[str] | None = None, prog: str = "trim-telemetry") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        # `trim-telemetry summary | head`: the reader has all it wants. Point stdout at devnull so
        # that the interpreter's own flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


def process_main(prog: str = "trim-telemetry", argv: list[str] | None = None) -> int:
    """:func:`main` as a process of its own (the console script, ``python -m``).

    A command holds every record it read until it exits, and they hold no reference cycles: the
    cyclic collector would only scan them again and again (after reading 100,000 records, the
    first collections cost as much as decoding them). The process ends with the command, so the
    collector stays off; :func:`main` called inside another program leaves it alone, and so it
    does the standard output, which here writes a lone surrogate as its escape instead of failing.
    """
    gc.disable()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors=ENCODING_ERRORS)
    return main(argv, prog=prog)


def console_main() -> None:
    sys.exit(process_main())
