"""Guarantees about settings, odd text and diagnostics: every test gets its line, and what went
wrong is said where the user sees it, without changing an outcome or the exit code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.guarantee_runs import (
    RUNNERS,
    assert_unchanged,
    lines_of,
    make_project,
    run_both,
    run_file,
    run_suite,
)
from tests.otlp_receivers import closed_port, grpc_receiver

PLAIN = """
    import sqlite3, unittest

    class Plain(unittest.TestCase):
        def test_1_passes(self):
            sqlite3.connect(":memory:").cursor().execute("SELECT 1")

        def test_2_fails(self):
            self.assertEqual(1, 2)

        @unittest.skip("not today")
        def test_3_skipped(self):
            pass
"""

SURROGATES = """
    import os, unittest, urllib.request

    class Surrogates(unittest.TestCase):
        def test_a_failure_message_with_a_file_name_that_is_not_utf8(self):
            open(os.fsdecode(b"/nonexistent/caf\\xe9.txt"))

        def test_a_url_with_a_lone_surrogate(self):
            with self.assertRaises(UnicodeEncodeError):
                urllib.request.urlopen("http://127.0.0.1:9/caf\\udce9")

    class Named(unittest.TestCase):
        def test_in_an_oddly_named_class(self):
            pass

    Named.__qualname__ = "Named\\udce9"  # a name made from bytes that are not UTF-8
"""

BROKEN_FOLD = """
    import trim_telemetry_otel.processor as processor

    real_fold = processor.fold_test

    def fold_that_breaks_for_one_test(span, children):
        if span.name.endswith("test_2_fails"):
            raise RuntimeError("the fold broke")
        return real_fold(span, children)

    processor.fold_test = fold_that_breaks_for_one_test
"""

BIG_TESTS = """
    import unittest

    def make():
        def test(self):
            self.payload = bytearray(2 << 20)  # 2 MB kept by the TestCase, as fixtures often are
            self.payload[::4096] = b"x" * len(self.payload[::4096])
        return test

    class Big(unittest.TestCase):
        pass

    for n in range({count}):
        setattr(Big, f"test_{{n:03d}}", make())
"""

PEAK_RSS = """
import atexit, resource, sys
atexit.register(lambda: sys.stderr.write(
    f"PEAK_RSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n"))
"""


@pytest.mark.parametrize("runner", RUNNERS)
def test_lone_surrogates_in_messages_names_and_urls_cost_no_record(
    runner: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", SURROGATES)

    plain, telemetry = run_both(runner, project)

    assert_unchanged(plain, telemetry)
    records, bad = lines_of(run_file(project / ".telemetry"))
    assert not bad
    by_name = {record["name"]: record for record in records}
    assert sorted(by_name) == sorted(plain.outcomes)
    failed = by_name["test_a_failure_message_with_a_file_name_that_is_not_utf8"]
    # U+FFFD where the lone surrogate was (pytest escapes it itself in its report).
    assert re.search(r"/nonexistent/caf(\ufffd|\\udce9)\.txt", failed["failure_message"])
    assert by_name["test_a_url_with_a_lone_surrogate"]["net_urls"] == [
        "http://127.0.0.1:9/caf\ufffd"
    ]
    assert by_name["test_in_an_oddly_named_class"]["class"] == "Named\ufffd"


BAD_OTEL = [
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "abc"),
    ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-1"),
    ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
    ("OTEL_EXPORTER_OTLP_COMPRESSION", "zip"),
    ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1"),
    ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "many"),
    ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1.5"),
]


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize(("variable", "value"), BAD_OTEL)
def test_a_bad_otel_value_is_named_in_one_warning_and_changes_nothing(
    runner: str, variable: str, value: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", PLAIN)
    env = {variable: value}
    if "ENDPOINT" not in variable:  # forwarding asked for, so that its settings matter
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"

    plain, telemetry = run_both(runner, project, env)

    assert_unchanged(plain, telemetry)
    assert f"{variable}={value!r}" in telemetry.stderr.splitlines()[0]  # before any test
    records, bad = lines_of(run_file(project / ".telemetry"))
    assert len(records) == len(plain.outcomes) and not bad


BAD_TRIM = [
    ("TRIM_TELEMETRY", "maybe"),
    ("TRIM_TELEMETRY_RUN_ID", "../../etc/passwd"),
]
USAGE_ERROR = {"pytest": 4, "unittest": 2, "django": 2}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize(("variable", "value"), BAD_TRIM)
def test_a_bad_trim_value_stops_the_run_before_any_test_with_a_usage_error_naming_it(
    runner: str, variable: str, value: str, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", PLAIN)

    telemetry = run_suite(runner, project, telemetry=True, env={variable: value})

    assert telemetry.returncode == USAGE_ERROR[runner], telemetry.output
    assert variable in telemetry.stderr
    assert not telemetry.outcomes
    assert "Traceback" not in telemetry.output
    assert not (project / ".telemetry").exists()


@pytest.mark.parametrize("runner", RUNNERS)
def test_telemetry_errors_are_summarised_where_the_user_looks(runner: str, tmp_path: Path) -> None:
    # pytest's logging plugin is on (the default): the log alone would show nothing.
    project = make_project(tmp_path / "project", BROKEN_FOLD + PLAIN)

    plain, telemetry = run_both(runner, project)

    assert_unchanged(plain, telemetry)
    summary = telemetry.output[telemetry.output.index("test records written to") :]
    assert "WARNING: 1 telemetry errors" in summary
    assert "1 × writing a test record: RuntimeError: the fold broke" in summary
    records, _ = lines_of(run_file(project / ".telemetry"))
    assert len(records) == len(plain.outcomes) - 1


def test_forwarding_warnings_count_every_span_not_sent_across_xdist_workers(
    tmp_path: Path,
) -> None:
    queries = "\n".join(
        f"""
    def test_{n}():
        db = sqlite3.connect(":memory:")
        for _ in range({n}):
            db.cursor().execute("SELECT 1")
"""
        for n in range(1, 9)
    )
    project = make_project(tmp_path / "project", "    import sqlite3\n" + queries)
    plain = run_suite("pytest", project, telemetry=False, args=("-n", "2"))
    with grpc_receiver() as (endpoint, received):  # the truth: what a collector gets
        sent = run_suite(
            "pytest", project, telemetry=True, args=("-n", "2", "--telemetry-otlp", endpoint)
        )
        spans = len(received.spans)
    down = f"http://127.0.0.1:{closed_port()}"

    telemetry = run_suite(
        "pytest", project, telemetry=True, args=("-n", "2", "--telemetry-otlp", down)
    )

    assert_unchanged(plain, telemetry)
    assert spans == 8 + sum(range(1, 9))  # test roots and queries; idle set-up is not forwarded
    assert f"{spans} spans forwarded to {endpoint}" in sent.stdout
    [warning] = [line for line in telemetry.warnings() if "not forwarded" in line]
    assert f"({spans} spans not sent;" in warning


def _peak_rss_mb(run_output: str) -> float:
    return int(re.findall(r"PEAK_RSS_KB (\d+)", run_output)[-1]) / 1024


@pytest.mark.parametrize("runner", ["unittest", "django"])
def test_finished_tests_are_released_as_without_telemetry(runner: str, tmp_path: Path) -> None:
    count = 200
    project = make_project(tmp_path / "project", BIG_TESTS.format(count=count))
    (project / "sitecustomize.py").write_text(PEAK_RSS)

    plain, telemetry = run_both(runner, project)

    assert_unchanged(plain, telemetry)
    extra = _peak_rss_mb(telemetry.stderr) - _peak_rss_mb(plain.stderr)
    # Kept alive, 200 tests of 2 MB would add 400 MB; the pipeline itself costs some 40 MB.
    assert extra < 120, f"{extra:.0f} MB more with telemetry"
