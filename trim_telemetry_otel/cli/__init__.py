"""The ``trim-telemetry`` command: summary, diff, check, junit, markdown, html, flaky."""

from __future__ import annotations

from .main import build_parser, main

__all__ = ["build_parser", "main"]
