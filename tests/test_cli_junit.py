"""``trim-telemetry junit``: valid against the Jenkins JUnit schema, with every outcome mapped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from tests.telemetry_runs import known_run, record, write_run
from trim_telemetry_otel.cli import main

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "junit" / "junit-10.xsd")


def junit(tmp_path: Path, records: list, *args: str) -> ET.Element:
    path = write_run(tmp_path / "run_20261121_100000.ndjson", records, validate=False)
    output = tmp_path / "out" / "junit.xml"
    assert main(["junit", str(path), "-o", str(output), *args]) == 0
    return ET.parse(output).getroot()


def test_the_xml_validates_against_the_jenkins_junit_schema(tmp_path: Path) -> None:
    hostile = record(
        "t.py::test_hostile",
        "failed",
        failure_type="ValueError",
        failure_message='bad \x00 byte \x1b[31m and <tags> & "quotes"',
    )
    junit(tmp_path, [*known_run(), hostile])

    SCHEMA.validate(tmp_path / "out" / "junit.xml")  # raises on any violation


def test_counts_and_each_outcome_map_as_pytest_junitxml_maps_them(tmp_path: Path) -> None:
    root = junit(tmp_path, known_run())

    suite = root.find("testsuite")
    assert suite is not None
    assert {
        k: suite.get(k) for k in ("name", "tests", "failures", "errors", "skipped", "time")
    } == {
        "name": "run_20261121_100000",
        "tests": "8",
        "failures": "1",
        "errors": "1",
        "skipped": "2",
        "time": "0.220",
    }
    assert suite.get("timestamp") == "2026-11-21T10:00:00.000000+00:00"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    fails = cases["test_fails"]
    assert (fails.get("classname"), fails.get("file"), fails.get("time")) == (
        "tests.b",
        "tests/b.py",
        "0.030",
    )
    failure = fails.find("failure")
    assert failure is not None
    assert (failure.get("type"), failure.get("message")) == ("AssertionError", "assert 1 == 2")
    assert failure.text == "failed in call: AssertionError: assert 1 == 2"
    error = cases["test_errors"].find("error")
    assert error is not None and error.get("type") == "RuntimeError"
    assert cases["test_n_plus_one"].get("classname") == "tests.a.TestApi"
    skipped = cases["test_skipped"].find("skipped")
    assert skipped is not None and skipped.attrib == {"type": "pytest.skip", "message": "later"}
    xfail = cases["test_xfail"].find("skipped")
    assert xfail is not None
    assert xfail.attrib == {"type": "pytest.xfail", "message": "expected failure: known bug"}
    assert list(cases["test_xpass"]) == [cases["test_xpass"].find("system-out")]  # a pass
    out = cases["test_n_plus_one"].find("system-out")
    assert out is not None and out.text is not None
    assert out.text.startswith("telemetry: db_query_count=9 db_duplicate_count=4 db_error_count=0")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {
        "run_id": "run_20261121_100000",
        "db_query_count": "12",
        "net_request_count": "3",
    }


def test_line_and_ci_context_are_used_when_records_carry_them(tmp_path: Path) -> None:
    newer = record(
        "t.py::test_new",
        schema_version="1.1.0",
        line=42,
        vcs_revision="abc123",
        vcs_branch="main",
        ci_run_id="77",
        ci_run_url="https://ci.example/runs/77",
    )
    root = junit(tmp_path, [newer])

    case = root.find("testsuite/testcase")
    assert case is not None and case.get("line") == "42"
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["vcs_revision"] == "abc123"
    assert properties["ci_run_url"] == "https://ci.example/runs/77"
    SCHEMA.validate(tmp_path / "out" / "junit.xml")


def test_xunit1_puts_the_figures_into_per_test_properties(tmp_path: Path) -> None:
    root = junit(tmp_path, known_run(), "--family", "xunit1")

    case = next(c for c in root.iter("testcase") if c.get("name") == "test_network")
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["net_request_count"] == "3"
    assert (
        properties["net_urls"] == "http://127.0.0.1:8000/a?token=REDACTED http://127.0.0.1:9/down"
    )
    assert case.find("system-out") is None


def test_junit_goes_to_stdout_without_output(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = write_run(tmp_path / "run.ndjson", known_run()[:1])
    assert main(["junit", str(path)]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<testsuites")
    SCHEMA.validate(out.decode())
