"""``trim-telemetry html`` in a real headless Chromium: plots drawn, tables work, no errors."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.telemetry_runs import known_run, query, record, write_run
from trim_telemetry_otel.cli import main

PLOTS = (
    "durations",
    "queries",
    "offenders",
    "slowest",
    "outcomes",
    "network",
    "suspects",
    "query-changes",
    "time-changes",
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    message = "Chromium is not installed (scripts/bootstrap.sh installs it with apt as root)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI=true: the HTML report must be checked in a real browser")
    pytest.skip(message)


def browse(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2000",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    old = write_run(tmp_path / "old.ndjson", known_run())
    changed = known_run()
    changed[0] = record(
        "tests/a.py::test_fast", at=0, ms=90.0, db_queries=[query("SELECT ? FROM t", 6, 3.0)]
    )
    changed[2] = {
        **changed[2],
        "status": "passed",
        "failure_phase": None,
        "failure_type": None,
        "failure_message": None,
    }
    new = write_run(tmp_path / "new.ndjson", changed)
    output = tmp_path / "report.html"
    assert main(["html", str(old), str(new), "-o", str(output)]) == 0
    return output


def test_the_page_needs_no_network(report: Path) -> None:
    page = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page


def test_every_plot_and_table_renders_without_console_errors(tmp_path: Path, report: Path) -> None:
    result = browse(tmp_path, report.as_uri(), "--dump-dom")

    dom = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert console_messages(result.stderr) == []
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert body.group(0) == '<body data-rendered="true">'  # no data-errors from window.onerror
    for plot in PLOTS:
        box = re.search(rf'data-plot="{plot}".*?</div>', dom, re.S)
        assert box is not None, plot
        assert "<svg" in box.group(0) and "<rect" in box.group(0), plot
    for table in ("suspects", "changes", "failures", "network", "tests"):
        assert f'data-table="{table}"' in dom, table
    assert dom.count('<tr data-id="tests/') >= 8 + 3  # every test, and the other tables' rows
    assert "Changes from run_20261121_100000 to run_20261121_100000" in dom


def test_the_tests_table_filters_and_sorts_from_the_address(tmp_path: Path, report: Path) -> None:
    result = browse(tmp_path, report.as_uri() + "#q=tests/b.py&sort=ms&order=asc", "--dump-dom")

    table = re.search(r'data-table="tests">(.*?)</table>', result.stdout, re.S)
    assert table is not None, result.stderr[-2000:]
    ids = re.findall(r'<tr data-id="([^"]+)"', table.group(1))
    assert ids == [
        "tests/b.py::test_skipped",
        "tests/b.py::test_xfail",
        "tests/b.py::test_xpass",
        "tests/b.py::test_errors",
        "tests/b.py::test_fails",
    ]
    assert "5 of 8 rows" in result.stdout
    assert console_messages(result.stderr) == []


def test_the_screenshot_shows_the_plots(tmp_path: Path, report: Path) -> None:
    shot = tmp_path / "shot.png"
    result = browse(tmp_path, report.as_uri(), f"--screenshot={shot}")
    assert shot.is_file(), result.stderr[-2000:]

    pixels = png_pixels(shot.read_bytes())
    counts: dict[tuple[int, int, int], int] = {}
    for pixel in pixels:
        counts[pixel] = counts.get(pixel, 0) + 1
    # The bars' own colours, in quantity: the plots were drawn, not just the page's text.
    assert counts.get((0x09, 0x69, 0xDA), 0) > 2000  # durations, distinct queries
    assert counts.get((0xD4, 0xA7, 0x2C), 0) > 2000  # queries per test, repeated queries
    assert counts.get((0x1A, 0x7F, 0x37), 0) > 500  # passed
    assert len(counts) > 50


def png_pixels(data: bytes) -> list[tuple[int, int, int]]:
    """The RGB pixels of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    pixels = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 0xFF
        pixels += [tuple(line[i : i + 3]) for i in range(0, stride, channels)]
        previous = line
    return pixels  # type: ignore[return-value]
