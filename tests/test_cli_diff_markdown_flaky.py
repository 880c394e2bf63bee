"""``diff``, ``markdown`` and ``flaky`` on hand-made runs with known answers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.telemetry_runs import known_run, query, record, write_run
from trim_telemetry_otel.cli import main, reading
from trim_telemetry_otel.cli.history import read_results
from trim_telemetry_otel.cli.reading import Problem, read_file
from trim_telemetry_otel.cli.records import outcome_of


def output(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_diff_reports_outcomes_time_beyond_noise_queries_hosts_added_and_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write_run(
        tmp_path / "old.ndjson",
        [
            record("t.py::test_same", ms=100.0, db_queries=[query("SELECT 1")]),
            record("t.py::test_noise", ms=100.0),
            record("t.py::test_slower", ms=100.0),
            record("t.py::test_breaks", ms=1.0),
            record("t.py::test_gone"),
        ],
    )
    new = write_run(
        tmp_path / "new.ndjson",
        [
            record(
                "t.py::test_same",
                ms=100.0,
                db_queries=[query("SELECT 1", 4)],
                net_requests=[
                    {
                        "method": "GET",
                        "url": "https://api.test/x",
                        "status_code": 200,
                        "count": 1,
                        "total_duration_ms": 2.0,
                    }
                ],
            ),
            record("t.py::test_noise", ms=140.0),  # +40 %: noise
            record("t.py::test_slower", ms=160.0),
            record("t.py::test_breaks", "failed", ms=1.0),
            record("t.py::test_new"),
        ],
    )

    result = json.loads(output(capsys, "diff", str(old), str(new), "--json"))

    assert result["added"] == ["t.py::test_new"]
    assert result["removed"] == ["t.py::test_gone"]
    assert result["tests"] == {"old": 5, "new": 5, "common": 4}
    assert result["changed"] == [
        {"id": "t.py::test_breaks", "outcome": ["passed", "failed"]},
        {
            "id": "t.py::test_same",
            "db_query_count": [1, 4],
            "db_duplicate_count": [0, 3],
            "net_request_count": [0, 1],
            "hosts_added": ["api.test"],
        },
        {"id": "t.py::test_slower", "test_duration_ms": [100.0, 160.0]},
    ]
    text = output(capsys, "diff", str(old), str(new)).splitlines()
    assert text[2] == "3 changed, 1 added, 1 removed"
    assert "    passed -> failed    t.py::test_breaks" in text
    assert "       1 -> 4      (+3)  t.py::test_same" in text
    assert "  t.py::test_same: +api.test" in text


def test_diff_of_one_directory_compares_its_two_newest_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(tmp_path / "run_a.ndjson", [record("t.py::test_x", "failed")])
    newer = write_run(tmp_path / "run_b.ndjson", [record("t.py::test_x")])
    os.utime(newer, (2_000_000_000, 2_000_000_000))

    result = json.loads(output(capsys, "diff", str(tmp_path), "--json"))
    assert result["changed"] == [{"id": "t.py::test_x", "outcome": ["failed", "passed"]}]


def test_markdown_appends_to_the_github_step_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_run(
        tmp_path / "run.ndjson",
        [
            *known_run(),
            record("t.py::test_pipe", "failed", failure_message="a | b <script>"),
        ],
    )
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))

    assert main(["markdown", str(path)]) == 0

    assert capsys.readouterr().out == ""
    text = step_summary.read_text()
    assert text.startswith("# earlier step\n## Test telemetry\n\n**9 tests** — ✅ 3 passed")
    assert "| 7.05 s | 0.22 s | 12 | 4 | 3 | 1 |" in text
    assert "| <code>t.py::test_pipe</code> | failed |  | a &#124; b &lt;script&gt; |" in text
    assert "| <code>tests/a.py::TestApi::test_n_plus_one</code> | 5 | <code>SELECT" in text
    assert "### Tests that used the real network" in text


def flaky_history(tmp_path: Path) -> Path:
    outcomes = {
        "rev1": ["passed", "failed", "passed"],
        "rev2": ["failed", "failed", "failed"],  # broken at rev2, not flaky
    }
    run = 0
    for revision, statuses in outcomes.items():
        for status in statuses:
            run += 1
            write_run(
                tmp_path / f"run_{run:02d}.ndjson",
                [
                    record(
                        "t.py::test_flaky",
                        status,
                        at=run,
                        run_id=f"run_{run:02d}",
                        vcs_revision=revision,
                    ),
                    record(
                        "t.py::test_steady", at=run, run_id=f"run_{run:02d}", vcs_revision=revision
                    ),
                    record(
                        "t.py::test_fixed_at_rev2",
                        "failed" if revision == "rev1" else "passed",
                        at=run,
                        run_id=f"run_{run:02d}",
                        vcs_revision=revision,
                    ),
                ],
                validate=False,
            )
            os_time = 1_900_000_000 + run
            os.utime(tmp_path / f"run_{run:02d}.ndjson", (os_time, os_time))
    return tmp_path


ENGINES = pytest.mark.parametrize("engine", ["python", "duckdb"])


@ENGINES
def test_flaky_compares_runs_of_the_same_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    flaky = json.loads(
        output(capsys, "flaky", str(flaky_history(tmp_path)), "--json", "--engine", engine)
    )

    assert flaky == [
        {
            "id": "t.py::test_flaky",
            "vcs_revision": "rev1",
            "runs": 3,
            "failures": 1,
            "flips": 2,
            "last": "passed",
            "history": ".F.",
            "run_ids": ["run_01", "run_02", "run_03"],
        },
    ]
    text = output(capsys, "flaky", str(tmp_path)).splitlines()
    assert text[1:] == ["     1/3    failed  rev1        t.py::test_flaky", "           .F."]


def test_flaky_without_revisions_compares_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for run, status in enumerate(["passed", "error", "skipped", "passed"]):
        write_run(tmp_path / f"run_{run}.ndjson", [record("t.py::test_x", status, at=run)])

    flaky = json.loads(
        output(capsys, "flaky", *sorted(map(str, tmp_path.glob("*.ndjson"))), "--json")
    )
    assert [(f["id"], f["history"], f["vcs_revision"]) for f in flaky] == [
        ("t.py::test_x", ".Es.", None)
    ]


@pytest.mark.parametrize(
    "line",
    [
        json.dumps(record("t.py::test_a"), separators=(",", ":")),
        json.dumps(record("t.py::test_spaced")),  # other spacing: decoded in full
        json.dumps(
            record(
                't.py::test_"id":"x" in [it]',
                "skipped",
                status_detail="xfailed",
                failure_message='"status":"failed"',
            ),
            separators=(",", ":"),
        ),
        json.dumps(
            {
                **record("t.py::test_q"),
                "db_queries": [
                    {
                        "sql": '"id":"nested"',
                        "count": 1,
                        "total_duration_ms": 1.0,
                        "db_system": None,
                        "db_name": None,
                    }
                ],
            },
            separators=(",", ":"),
        ),
        json.dumps(record("t.py::test_ünïcode\u2028")),
    ],
)
@pytest.mark.parametrize("decoder", ["orjson", "text search"])
def test_the_history_shortcut_reads_what_the_full_reader_reads(
    tmp_path: Path, line: str, decoder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if decoder == "orjson":
        pytest.importorskip("orjson")
    else:
        monkeypatch.setattr(reading, "_fast_loads", None)
    path = tmp_path / "run.ndjson"
    path.write_text(line + "\n", "utf-8")
    problems: list[Problem] = []

    [full] = read_file(path, problems)
    results = read_results(path)
    [fast] = results.of(0)

    assert problems == results.problems == []
    assert (fast.id, fast.outcome, fast.run_id, fast.start_time) == (
        full["id"],
        outcome_of(full),
        full["run_id"],
        full["start_time"],
    )


def test_the_history_reader_names_bad_lines_with_their_number(tmp_path: Path) -> None:
    path = tmp_path / "run.ndjson"
    good = json.dumps(record("t.py::test_a"), separators=(",", ":"))
    path.write_text(f"{good}\n{{broken\n{json.dumps(record('t.py::x', schema_version='2.0'))}\n")
    results = read_results(path)

    assert results.ids == ["t.py::test_a"]
    assert [(p.line, p.message.split(" (")[0]) for p in results.problems] == [
        (2, "not valid JSON"),
        (3, "schema version '2.0', this reader knows 1.x; line skipped"),
    ]


@pytest.mark.parametrize("engine", ["python", "auto", "python without orjson"])
def test_a_long_history_read_in_parallel_gives_the_same_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.endswith("without orjson"):
        monkeypatch.setattr(reading, "_fast_loads", None)  # the workers are forked: them too
        engine = "python"
    for run in range(12):
        path = write_run(
            tmp_path / f"run_{run:02d}.ndjson",
            [
                record(
                    "t.py::test_flaky",
                    "failed" if run in (3, 7) else "passed",
                    at=run,
                    run_id=f"run_{run:02d}",
                ),
                record("t.py::test_steady", at=run, run_id=f"run_{run:02d}"),
            ],
        )
        os.utime(path, (1_900_000_000 + run, 1_900_000_000 + run))
    with (tmp_path / "run_05.ndjson").open("a") as file:
        file.write("garbage\n")
    os.utime(tmp_path / "run_05.ndjson", (1_900_000_005, 1_900_000_005))  # keep its place

    # With a broken line, auto cannot use DuckDB (no line numbers): the Python reader names it.
    assert main(["flaky", str(tmp_path), "--json", "--engine", engine]) == 0

    captured = capsys.readouterr()
    [flaky] = json.loads(captured.out)
    assert (flaky["history"], flaky["flips"], flaky["runs"]) == ("...F...F....", 4, 12)
    assert captured.err.startswith(f"warning: {tmp_path / 'run_05.ndjson'}:3: not valid JSON")


def test_the_newest_run_is_the_one_that_started_last_not_the_last_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(tmp_path / "run_b.ndjson", [record("t.py::test_newer", at=3600)])
    write_run(tmp_path / "run_a.ndjson", [record("t.py::test_older", at=0)])  # newer mtime

    summary = json.loads(output(capsys, "summary", "--json", str(tmp_path)))

    assert summary["source"] == str(tmp_path / "run_b.ndjson")


@pytest.mark.parametrize(
    "bad",
    [
        json.dumps(record("t.py::test_x", "maybe")),
        json.dumps(record("t.py::test_x", schema_version="2.0.0")),
        json.dumps(record("t.py::test_x"))[:40],  # a truncated last line
    ],
)
def test_duckdb_leaves_lines_it_cannot_judge_to_the_python_reader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    for run, status in enumerate(["passed", "failed"]):
        write_run(tmp_path / f"run_{run}.ndjson", [record("t.py::test_x", status, at=run)])
    with (tmp_path / "run_1.ndjson").open("a") as file:
        file.write(bad + ("\n" if bad.endswith("}") else ""))

    assert main(["flaky", str(tmp_path), "--json"]) == 0

    captured = capsys.readouterr()
    assert [f["history"] for f in json.loads(captured.out)] == [".F"]
    assert captured.err.startswith(f"warning: {tmp_path / 'run_1.ndjson'}:2: ")


def test_duckdb_answers_a_clean_history_itself(tmp_path: Path) -> None:
    from trim_telemetry_otel.cli import history_duckdb
    from trim_telemetry_otel.cli.history import history_files

    files = history_files([str(flaky_history(tmp_path))])

    answer = history_duckdb.flaky_outcomes(files, 2)

    assert answer is not None  # not the fallback
    outcomes, results = answer
    assert results == 18
    assert sorted((o.order, o.outcome) for o in outcomes) == [
        (0, "passed"),
        (1, "failed"),
        (2, "passed"),
    ]
    assert {(o.id, o.revision) for o in outcomes} == {("t.py::test_flaky", "rev1")}
