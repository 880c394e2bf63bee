"""Which commit, branch and CI run a test belongs to: on the spans and in the records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import read_records, run_files
from tests.otlp_receivers import grpc_receiver, http_receiver
from trim_telemetry_otel.cicd import RunContext, detect_run_context

SHA = "9d59409acf479dfa0df1aa568182e43e43df8bbe"
TOKEN = "glcbt-64_SECRETTOKENVALUE"

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_WORKFLOW": "Build and Test",
    "GITHUB_RUN_ID": "9753949763",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/shop",
    "GITHUB_SHA": SHA,
    "GITHUB_REF_NAME": "1075/merge",
    "GITHUB_HEAD_REF": "fix-n-plus-one",
    "GITHUB_TOKEN": TOKEN,
}
GITLAB = {
    "GITLAB_CI": "true",
    "CI_PROJECT_PATH": "acme/shop",
    "CI_PIPELINE_ID": "120912",
    "CI_PIPELINE_URL": "https://gitlab.example/acme/shop/-/pipelines/120912",
    "CI_COMMIT_SHA": SHA,
    "CI_COMMIT_REF_NAME": "main",
    "CI_PROJECT_URL": "https://gitlab.example/acme/shop",
    "CI_REPOSITORY_URL": f"https://gitlab-ci-token:{TOKEN}@gitlab.example/acme/shop.git",
    "CI_JOB_TOKEN": TOKEN,
}
BUILDKITE = {
    "BUILDKITE": "true",
    "BUILDKITE_PIPELINE_NAME": "Shop",
    "BUILDKITE_PIPELINE_SLUG": "shop",
    "BUILDKITE_BUILD_ID": "0190c4b4-2b1e-4d0c-9d4e-6ac1f3a1b2c3",
    "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/shop/builds/42",
    "BUILDKITE_COMMIT": SHA,
    "BUILDKITE_BRANCH": "main",
    "BUILDKITE_REPO": "git@github.com:acme/shop.git",
    "BUILDKITE_AGENT_ACCESS_TOKEN": TOKEN,
}
CIRCLECI = {
    "CIRCLECI": "true",
    "CIRCLE_PROJECT_REPONAME": "shop",
    "CIRCLE_WORKFLOW_ID": "6e1a5b3c-workflow",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/shop/42",
    "CIRCLE_SHA1": SHA,
    "CIRCLE_BRANCH": "main",
    "CIRCLE_REPOSITORY_URL": "git@github.com:acme/shop.git",
}
JENKINS = {
    "JENKINS_URL": "https://ci.example/",
    "JOB_NAME": "shop/main",
    "BUILD_ID": "42",
    "BUILD_TAG": "jenkins-shop-main-42",
    "BUILD_URL": "https://ci.example/job/shop/job/main/42/",
    "GIT_COMMIT": SHA,
    "GIT_BRANCH": "origin/main",
    "GIT_URL": f"https://jenkins:{TOKEN}@git.example/acme/shop.git",
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            GITHUB,
            RunContext(
                "Build and Test",
                "9753949763",
                "https://github.com/acme/shop/actions/runs/9753949763/attempts/2",
                SHA,
                "fix-n-plus-one",
                "https://github.com/acme/shop",
            ),
        ),
        (
            GITLAB,
            RunContext(
                "acme/shop",
                "120912",
                "https://gitlab.example/acme/shop/-/pipelines/120912",
                SHA,
                "main",
                "https://gitlab.example/acme/shop",
            ),
        ),
        (
            BUILDKITE,
            RunContext(
                "Shop",
                "0190c4b4-2b1e-4d0c-9d4e-6ac1f3a1b2c3",
                "https://buildkite.com/acme/shop/builds/42",
                SHA,
                "main",
                "https://github.com/acme/shop",
            ),
        ),
        (
            CIRCLECI,
            RunContext(
                "shop",
                "6e1a5b3c-workflow",
                "https://circleci.com/gh/acme/shop/42",
                SHA,
                "main",
                "https://github.com/acme/shop",
            ),
        ),
        (
            JENKINS,
            RunContext(
                "shop/main",
                "jenkins-shop-main-42",
                "https://ci.example/job/shop/job/main/42",
                SHA,
                "main",
                "https://git.example/acme/shop",
            ),
        ),
    ],
    ids=["github", "gitlab", "buildkite", "circleci", "jenkins"],
)
def test_each_ci_system_is_read_from_its_own_variables_without_its_tokens(
    environ: dict[str, str], expected: RunContext, tmp_path: Path
) -> None:
    context = detect_run_context(environ, tmp_path)

    assert context == expected
    assert TOKEN not in repr(context)
    assert TOKEN not in repr(context.attributes())


def git(directory: Path, *args: str) -> str:
    environ = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", "-C", str(directory), *args], env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "feature/n-plus-one")
    git(repo, "remote", "add", "origin", f"https://deploy:{TOKEN}@git.example/acme/shop.git")
    (repo / "a.txt").write_text("a")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-q", "-m", "first")
    return repo


def test_without_a_ci_the_checkout_says_commit_branch_and_repository(checkout: Path) -> None:
    (checkout / "tests").mkdir()

    context = detect_run_context({}, checkout / "tests")

    assert context == RunContext(
        revision=git(checkout, "rev-parse", "HEAD"),
        branch="feature/n-plus-one",
        repository_url="https://git.example/acme/shop",
    )


def test_packed_refs_a_detached_head_and_linked_worktrees_are_read_like_git_does(
    checkout: Path, tmp_path: Path
) -> None:
    head = git(checkout, "rev-parse", "HEAD")
    git(checkout, "pack-refs", "--all")
    assert detect_run_context({}, checkout).revision == head

    git(checkout, "worktree", "add", "-q", "-b", "other", str(tmp_path / "wt"))
    assert detect_run_context({}, tmp_path / "wt") == RunContext(
        revision=head, branch="other", repository_url="https://git.example/acme/shop"
    )

    git(checkout, "checkout", "-q", "--detach")
    assert detect_run_context({}, checkout) == RunContext(
        revision=head, branch=None, repository_url="https://git.example/acme/shop"
    )


def test_what_the_ci_does_not_say_comes_from_the_checkout(checkout: Path) -> None:
    context = detect_run_context({"JENKINS_URL": "https://ci.example/", "BUILD_ID": "7"}, checkout)

    assert context.run_id == "7"
    assert context.revision == git(checkout, "rev-parse", "HEAD")
    assert context.branch == "feature/n-plus-one"


def test_no_ci_and_no_checkout_says_nothing(tmp_path: Path) -> None:
    assert detect_run_context({}, tmp_path) == RunContext()


SUITE = """
import sqlite3

def test_queries():
    sqlite3.connect(":memory:").cursor().execute("SELECT 1")

class TestGroup:
    def test_skipped(self):
        import pytest
        pytest.skip("not today")
"""


@pytest.fixture
def no_ci_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "TRIM_TELEMETRY", "GITHUB_", "CI_", "BUILDKITE", "CIRCLE")):
            monkeypatch.delenv(name)
    for name in ("GITLAB_CI", "JENKINS_URL", "BUILD_ID", "BUILD_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("environ", "protocol"), [(GITHUB, "grpc"), (GITLAB, "http/protobuf")], ids=["github", "gitlab"]
)
def test_forwarded_spans_and_records_name_the_commit_branch_and_ci_run(
    pytester: pytest.Pytester,
    no_ci_environment: pytest.MonkeyPatch,
    environ: dict[str, str],
    protocol: str,
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    for name, value in environ.items():
        no_ci_environment.setenv(name, value)
    expected = detect_run_context(environ, pytester.path)
    receiver = grpc_receiver if protocol == "grpc" else http_receiver
    with receiver() as (endpoint, received):
        no_ci_environment.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--telemetry-otlp={endpoint}"
        )

        result.assert_outcomes(passed=1, skipped=1)
        [path] = run_files(pytester.path / ".telemetry")
        by_name = {record["name"]: record for record in read_records(path)}
        received.wait_for(3)

    for record in by_name.values():
        assert record["vcs_revision"] == SHA
        assert record["vcs_branch"] == expected.branch
        assert record["ci_run_id"] == expected.run_id
        assert record["ci_run_url"] == expected.run_url
    assert by_name["test_queries"]["line"] == 3
    assert by_name["test_skipped"]["line"] == 7
    assert expected.attributes(), "the CI variables were read"
    for span in received.spans:
        for key, value in expected.attributes().items():
            assert span.resource[key] == value
        assert TOKEN not in repr(span.resource) and TOKEN not in repr(span.attributes)
    roots = {s.name: s for s in received.spans if s.parent_span_id is None}
    queries = roots["test_suite.py::test_queries"].attributes
    assert queries["code.function.name"] == "test_suite.test_queries"
    assert queries["test.case.result.status"] == "pass"
    skipped = roots["test_suite.py::TestGroup::test_skipped"].attributes
    assert skipped["code.function.name"] == "test_suite.TestGroup.test_skipped"
    assert skipped["test.case.result.status"] == "skipped"
    assert skipped["code.line.number"] == 7


def test_records_say_null_where_nothing_names_the_run(
    pytester: pytest.Pytester, no_ci_environment: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)

    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--telemetry")

    [path] = run_files(pytester.path / ".telemetry")
    for record in read_records(path):
        assert (record["vcs_revision"], record["vcs_branch"]) == (None, None)
        assert (record["ci_run_id"], record["ci_run_url"]) == (None, None)


UNITTEST_SUITE = """
import unittest

class Outcomes(unittest.TestCase):
    def test_passes(self):
        pass

    def test_errors(self):
        raise KeyError("x")

    @unittest.expectedFailure
    def test_expected_to_fail(self):
        self.assertEqual(1, 2)
"""


def test_the_unittest_runner_names_functions_fully_and_every_outcome(
    pytester: pytest.Pytester, no_ci_environment: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_unit=UNITTEST_SUITE)
    for name, value in BUILDKITE.items():
        no_ci_environment.setenv(name, value)
    with grpc_receiver() as (endpoint, received):
        no_ci_environment.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)

        result = pytester.run(sys.executable, "-m", "trim_telemetry_otel.unittest")

        assert result.ret == 1
        received.wait_for(3)
    [path] = run_files(pytester.path / ".telemetry")
    records = {record["name"]: record for record in read_records(path)}
    assert {r["ci_run_url"] for r in records.values()} == {BUILDKITE["BUILDKITE_BUILD_URL"]}
    assert records["test_errors"]["line"] == 7
    roots = {
        s.attributes["trim.test.name"]: s.attributes
        for s in received.spans
        if s.parent_span_id is None
    }
    assert roots["test_passes"]["code.function.name"] == "test_unit.Outcomes.test_passes"
    assert roots["test_passes"]["test.case.result.status"] == "pass"
    assert roots["test_errors"]["test.case.result.status"] == "fail"
    assert roots["test_errors"]["trim.test.status"] == "error"
    assert roots["test_expected_to_fail"]["test.case.result.status"] == "xfail"
    assert {s.resource["vcs.repository.url.full"] for s in received.spans} == {
        "https://github.com/acme/shop"
    }
