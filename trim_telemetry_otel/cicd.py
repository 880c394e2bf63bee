"""Which commit, branch and CI run a test run belongs to, from the CI's environment or from git.

The result becomes resource attributes of the OpenTelemetry semantic conventions (``cicd.*``,
``vcs.*``) and the flat record fields ``vcs_revision``, ``vcs_branch``, ``ci_run_id`` and
``ci_run_url``. Only variables that name a run, a commit or a place are read, never one that
holds a token; every URL loses its userinfo, query and fragment before it is kept, because some CI
systems put a job token in clone URLs (GitLab's ``CI_REPOSITORY_URL``, for one).

git is read from ``.git`` itself, not by running ``git``: a subprocess per run would cost more
start-up time than the whole of the rest of the detection.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

__all__ = ["RunContext", "detect_run_context"]

CICD_PIPELINE_NAME = "cicd.pipeline.name"
CICD_PIPELINE_RUN_ID = "cicd.pipeline.run.id"
CICD_PIPELINE_RUN_URL = "cicd.pipeline.run.url.full"
VCS_REVISION = "vcs.ref.head.revision"
VCS_BRANCH = "vcs.ref.head.name"
VCS_REPOSITORY_URL = "vcs.repository.url.full"


@dataclass(frozen=True)
class RunContext:
    """What is known about where the run happens; None where nothing says."""

    pipeline_name: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    revision: str | None = None
    branch: str | None = None
    repository_url: str | None = None

    def attributes(self) -> dict[str, str]:
        """The semantic-convention attributes that are known."""
        values = {
            CICD_PIPELINE_NAME: self.pipeline_name,
            CICD_PIPELINE_RUN_ID: self.run_id,
            CICD_PIPELINE_RUN_URL: self.run_url,
            VCS_REVISION: self.revision,
            VCS_BRANCH: self.branch,
            VCS_REPOSITORY_URL: self.repository_url,
        }
        return {key: value for key, value in values.items() if value}

    def filled_from(self, other: RunContext) -> RunContext:
        """This context, with what it does not know taken from ``other``."""
        missing = {
            f.name: getattr(other, f.name) for f in fields(self) if not getattr(self, f.name)
        }
        return replace(self, **missing)


def detect_run_context(
    environ: Mapping[str, str] | None = None, directory: Path | None = None
) -> RunContext:
    """The CI system's view of the run, completed from the git checkout around ``directory``."""
    env = os.environ if environ is None else environ
    context = RunContext()
    for detect in _CI_SYSTEMS:
        found = detect(env)
        if found is not None:
            context = found
            break
    if context.revision and context.branch and context.repository_url:
        return context
    try:
        return context.filled_from(_git_context(directory or Path.cwd()))
    except (OSError, ValueError):  # no readable checkout: the CI's word is all there is
        return context


def _get(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def _github(env: Mapping[str, str]) -> RunContext | None:
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    server = (_get(env, "GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    repository = _get(env, "GITHUB_REPOSITORY")
    run_id = _get(env, "GITHUB_RUN_ID")
    repo_url = f"{server}/{repository}" if repository else None
    run_url = f"{repo_url}/actions/runs/{run_id}" if repo_url and run_id else None
    attempt = _get(env, "GITHUB_RUN_ATTEMPT")
    if run_url and attempt and attempt != "1":
        run_url += f"/attempts/{attempt}"
    return RunContext(
        pipeline_name=_get(env, "GITHUB_WORKFLOW"),
        run_id=run_id,
        run_url=_clean_url(run_url),
        revision=_get(env, "GITHUB_SHA"),
        # A pull request's own branch, not the merge ref GitHub checks out for it.
        branch=_get(env, "GITHUB_HEAD_REF", "GITHUB_REF_NAME"),
        repository_url=_clean_url(repo_url),
    )


def _gitlab(env: Mapping[str, str]) -> RunContext | None:
    if env.get("GITLAB_CI") != "true":
        return None
    # CI_REPOSITORY_URL carries the job token as userinfo: CI_PROJECT_URL is the same place.
    return RunContext(
        pipeline_name=_get(env, "CI_PIPELINE_NAME", "CI_PROJECT_PATH"),
        run_id=_get(env, "CI_PIPELINE_ID"),
        run_url=_clean_url(_get(env, "CI_PIPELINE_URL")),
        revision=_get(env, "CI_COMMIT_SHA"),
        branch=_get(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_REF_NAME"),
        repository_url=_clean_url(_get(env, "CI_PROJECT_URL")),
    )


def _buildkite(env: Mapping[str, str]) -> RunContext | None:
    if env.get("BUILDKITE") != "true":
        return None
    return RunContext(
        pipeline_name=_get(env, "BUILDKITE_PIPELINE_NAME", "BUILDKITE_PIPELINE_SLUG"),
        run_id=_get(env, "BUILDKITE_BUILD_ID"),
        run_url=_clean_url(_get(env, "BUILDKITE_BUILD_URL")),
        revision=_commit(_get(env, "BUILDKITE_COMMIT")),
        branch=_get(env, "BUILDKITE_BRANCH", "BUILDKITE_TAG"),
        repository_url=_clean_url(_get(env, "BUILDKITE_REPO")),
    )


def _circleci(env: Mapping[str, str]) -> RunContext | None:
    if env.get("CIRCLECI") != "true":
        return None
    return RunContext(
        pipeline_name=_get(env, "CIRCLE_PROJECT_REPONAME"),
        run_id=_get(env, "CIRCLE_WORKFLOW_ID", "CIRCLE_BUILD_NUM"),
        run_url=_clean_url(_get(env, "CIRCLE_BUILD_URL")),
        revision=_get(env, "CIRCLE_SHA1"),
        branch=_get(env, "CIRCLE_BRANCH", "CIRCLE_TAG"),
        repository_url=_clean_url(_get(env, "CIRCLE_REPOSITORY_URL")),
    )


def _jenkins(env: Mapping[str, str]) -> RunContext | None:
    if not _get(env, "JENKINS_URL") or not _get(env, "BUILD_URL", "BUILD_ID"):
        return None
    branch = _get(env, "BRANCH_NAME", "GIT_BRANCH")
    if branch and branch.startswith("origin/"):  # the Git plugin names the remote-tracking ref
        branch = branch[len("origin/") :]
    return RunContext(
        pipeline_name=_get(env, "JOB_NAME"),
        run_id=_get(env, "BUILD_TAG", "BUILD_ID", "BUILD_NUMBER"),
        run_url=_clean_url(_get(env, "BUILD_URL")),
        revision=_get(env, "GIT_COMMIT"),
        branch=branch,
        repository_url=_clean_url(_get(env, "GIT_URL")),
    )


_CI_SYSTEMS: tuple[Callable[[Mapping[str, str]], RunContext | None], ...] = (
    _github,
    _gitlab,
    _buildkite,
    _circleci,
    _jenkins,
)

_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")


def _commit(value: str | None) -> str | None:
    # Buildkite says HEAD until its agent has resolved the commit.
    return value if value and _COMMIT.fullmatch(value) else None


# scp-like git remotes: ``git@github.com:org/repo.git``.
_SCP_LIKE = re.compile(r"(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.\-]+):(?!//)(?P<path>[^\s]+)")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?:[^@/?#]*@)?(?P<rest>[^?#\s]*)")


def _clean_url(url: str | None) -> str | None:
    """A web address to show: no userinfo, no query, no fragment; git remotes as https.

    Anything that cannot be read as a URL is dropped rather than kept: it could hold anything.
    """
    if not url:
        return None
    url = url.strip()
    match = _URL.fullmatch(url.split("?", 1)[0].split("#", 1)[0])
    if match is not None:
        scheme, rest = match.group("scheme").lower(), match.group("rest")
        if scheme in ("ssh", "git", "git+ssh", "ssh+git"):
            scheme = "https"
            host, _, path = rest.partition("/")
            rest = f"{host.rpartition(':')[0] or host}/{path}"  # ssh://host:22/… has a port
        if scheme not in ("http", "https") or not rest:
            return None
        return _without_git_suffix(f"{scheme}://{rest}")
    scp = _SCP_LIKE.fullmatch(url)
    if scp is not None:
        return _without_git_suffix(f"https://{scp.group('host')}/{scp.group('path').lstrip('/')}")
    return None


def _without_git_suffix(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len(".git")] if url.endswith(".git") else url


def _git_context(directory: Path) -> RunContext:
    git_dir = _find_git_dir(directory)
    if git_dir is None:
        return RunContext()
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():  # a linked worktree keeps refs and config in the main repository
        common = (git_dir / commondir.read_text("utf-8").strip()).resolve()
    head = (git_dir / "HEAD").read_text("utf-8").strip()
    branch = None
    revision: str | None
    if head.startswith("ref: "):
        ref = head[len("ref: ") :]
        if ref.startswith("refs/heads/"):
            branch = ref[len("refs/heads/") :]
        revision = _resolve_ref(git_dir, common, ref)
    else:  # detached HEAD
        revision = head if _COMMIT.fullmatch(head) else None
    return RunContext(revision=revision, branch=branch, repository_url=_origin_url(common))


def _find_git_dir(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: ``gitdir: <path>``
            text = dot_git.read_text("utf-8").strip()
            if text.startswith("gitdir: "):
                return (candidate / text[len("gitdir: ") :]).resolve()
            return None
    return None


def _resolve_ref(git_dir: Path, common: Path, ref: str) -> str | None:
    for base in (git_dir, common):
        loose = base / ref
        if loose.is_file():
            value = loose.read_text("utf-8").strip()
            return value if _COMMIT.fullmatch(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text("utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _COMMIT.fullmatch(sha):
                return sha
    return None  # a branch with no commit yet


_REMOTE_SECTION = re.compile(r'\s*\[\s*remote\s+"(?P<name>[^"]+)"\s*\]')
_SECTION = re.compile(r"\s*\[")
_URL_KEY = re.compile(r"\s*url\s*=\s*(?P<url>.+?)\s*$")


def _origin_url(common: Path) -> str | None:
    """``remote.origin.url``, else the first remote's: the repository people know it by."""
    config = common / "config"
    if not config.is_file():
        return None
    remotes: dict[str, str] = {}
    current: str | None = None
    for line in config.read_text("utf-8", errors="replace").splitlines():
        section = _REMOTE_SECTION.match(line)
        if section is not None:
            current = section.group("name")
            continue
        if _SECTION.match(line):
            current = None
            continue
        key = _URL_KEY.match(line)
        if current is not None and key is not None:
            remotes.setdefault(current, key.group("url").strip('"'))
    url = remotes.get("origin") or next(iter(remotes.values()), None)
    return _clean_url(url)
