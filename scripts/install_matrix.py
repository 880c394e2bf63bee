"""Install matrix: does ``pip install <checkout>`` work where a Python team already is?

    python scripts/install_matrix.py [--pythons 3.10,3.11,3.12,3.13] [--jobs 3] [--no-uv]
                                     [--markdown FILE]

Every cell is a FRESH venv of a pyenv Python with the pip that Python bundles (never upgraded),
or uv where it can be had (``pip install uv`` into a tool venv when ``uv`` is not on PATH). It
installs the checkout (or ``--target`` any requirement, e.g. a built wheel) with an extra and
next to one OpenTelemetry pair:

- ``lower``:  an app pinning the lowest SDK our range admits (read from pyproject.toml);
- ``newest``: an app pinning the newest opentelemetry-sdk on the index;
- ``distro``: next to the newest opentelemetry-distro, unpinned.

then records the resolved versions, the seconds the install took, whether the resolver
backtracked, ``pip check``, and the smoke result (scripts/install_smoke.py: sqlite, HTTP and,
where the extra and driver are installed, PostgreSQL and MariaDB capture). Prints a table and
exits 1 when a cell that must work did not. pip's and uv's own caches keep reruns fast.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "scripts" / "install_smoke.py"
SHOWN = ("opentelemetry-sdk", "opentelemetry-instrumentation", "opentelemetry-distro")
# What the app brings for the smoke suite: an HTTP client, and the drivers of the DB extras.
APP = {"core": ["requests"], "otlp": ["requests"], "db": ["requests", "psycopg[binary]", "pymysql"]}
EXTRAS = {"core": "", "otlp": "[otlp]", "db": "[postgresql,mysql]"}
BACKTRACK = re.compile(r"pip is looking at multiple versions of (\S+)")


@dataclass
class Cell:
    python: str
    installer: str  # "pip <version>" or "uv <version>"
    target: str  # core | otlp | db
    pair: str  # lower | newest | distro
    requirements: list[str]
    must_work: bool = True
    resolved: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    backtracked: list[str] = field(default_factory=list)
    check: str = ""
    smoke: str = ""
    ok: bool = False


def log(message: str) -> None:
    print(f"install-matrix: {message}", file=sys.stderr, flush=True)


def pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    try:
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True)
        return Path(found.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return Path.home() / ".pyenv"


def interpreter(version: str) -> Path | None:
    """The newest pyenv install of ``version`` (3.11 → versions/3.11.7/bin/python)."""
    candidates = sorted(
        (pyenv_root() / "versions").glob(f"{version}.*"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)],
    )
    for candidate in reversed(candidates):
        if (candidate / "bin" / "python").exists():
            return candidate / "bin" / "python"
    return None


def lower_bounds() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    sdk = re.search(r'"opentelemetry-sdk>=([^,"]+)', text)
    if sdk is None:
        raise SystemExit("install-matrix: no opentelemetry-sdk lower bound in pyproject.toml")
    return {"opentelemetry-sdk": sdk.group(1)}


def newest(package: str) -> str:
    """The newest release on the index (one look-up)."""
    found = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "--pre", package],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(rf"^{re.escape(package)} \(([^)]+)\)", found.stdout, re.M)
    if match is None:
        raise SystemExit(f"install-matrix: cannot find the newest {package}: {found.stderr}")
    return match.group(1)


def find_uv(cache: Path) -> tuple[str | None, str]:
    """uv on PATH, else one installed with pip into a tool venv under the cache."""
    if shutil.which("uv"):
        return shutil.which("uv"), "on PATH"
    tool = cache / "uv-tool"
    uv = tool / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(tool)], check=True)
        done = subprocess.run(
            [str(tool / "bin" / "python"), "-m", "pip", "install", "-q", "uv"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return None, f"pip install uv failed: {done.stderr.strip()[-300:]}"
    return str(uv), "pip install uv"


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


def resolved(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        f"names = {list(SHOWN)!r}\n"
        "found = {}\n"
        "for n in names:\n"
        "    try: found[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(found))\n"
    )
    return json.loads(run([str(python), "-c", code]).stdout or "{}")  # type: ignore[no-any-return]


def run_cell(cell: Cell, interp: Path, uv: str | None, work: Path) -> Cell:
    venv = work / f"{cell.python}-{cell.installer.split()[0]}-{cell.target}-{cell.pair}"
    python = venv / "bin" / "python"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if uv:
        made = run([uv, "venv", "-q", "--python", str(interp), str(venv)], env=env)
        install = [uv, "pip", "install", "--python", str(python)]
        check = [uv, "pip", "check", "--python", str(python)]
    else:
        made = run([str(interp), "-m", "venv", str(venv)], env=env)
        install = [str(python), "-m", "pip", "install", "--progress-bar", "off"]
        check = [str(python), "-m", "pip", "check"]
    if made.returncode != 0:
        cell.smoke = f"venv failed: {made.stderr.strip()[-200:]}"
        return cell
    if not uv:
        version = run([str(python), "-m", "pip", "--version"]).stdout.split()[1]
        cell.installer = f"pip {version}"
    start = time.monotonic()
    done = run([*install, *cell.requirements], env=env, timeout=900)
    cell.seconds = time.monotonic() - start
    found = BACKTRACK.findall(done.stdout + done.stderr)
    cell.backtracked = sorted({name for name in found if not name.startswith("<")})  # <Python…>
    if done.returncode != 0:
        tail = [line for line in done.stderr.splitlines() if "ERROR" in line or "×" in line]
        cell.check = "install failed"
        cell.smoke = (tail[-1] if tail else done.stderr.strip()[-200:])[:160]
        cell.ok = not cell.must_work
        return cell
    cell.resolved = resolved(python)
    checked = run(check, env=env)
    cell.check = "clean" if checked.returncode == 0 else checked.stdout.strip()[:160]
    app = run([*install, *APP[cell.target]], env=env, timeout=900)
    if app.returncode != 0:
        cell.smoke = f"app libraries failed: {app.stderr.strip()[-160:]}"
        return cell
    smoke = run([str(python), str(SMOKE), "--json"], env=env, timeout=600, cwd=work)
    try:
        outcome = json.loads(smoke.stdout.strip().splitlines()[-1])
        results = {**outcome["unittest"], **outcome.get("django", {})}
        cell.smoke = ", ".join(
            f"{'no-django' if name == 'missing' else name} "
            f"{'ok' if value.startswith('ok') else value}"
            for name, value in results.items()
            if not value.startswith("skipped")
        )
    except (IndexError, KeyError, ValueError):
        cell.smoke = f"smoke crashed: {(smoke.stderr or smoke.stdout).strip()[-200:]}"
    cell.ok = smoke.returncode == 0 and cell.check == "clean"
    shutil.rmtree(venv, ignore_errors=True)
    return cell


def cells(pythons: list[str], target: str, pins: dict[str, list[str]], uv: bool) -> list[Cell]:
    """Every (Python, installer, extra, pair); the ``db`` extras on the first and last Python."""
    made = []
    edges = {pythons[0], pythons[-1]}
    for python in pythons:
        for installer in ("pip", "uv") if uv else ("pip",):
            for kind in ("core", "otlp", "db"):
                for pair, pinned in pins.items():
                    # The per-driver instrumentors lag behind the newest pair (README: Install):
                    # resolving them next to it is impossible upstream, so it is not attempted.
                    if kind == "db" and (pair == "newest" or python not in edges):
                        continue
                    # The checkout itself once per Python and installer (a real build); the
                    # other cells install the wheel built from it once, with the same metadata.
                    source = str(ROOT) if (kind, pair) == ("core", "newest") else target
                    spec = f"{source}{EXTRAS[kind]}"
                    made.append(Cell(python, installer, kind, pair, [spec, *pinned]))
    return made


def table(done: list[Cell]) -> str:
    lines = [
        "| Python | installer | target | OTel pair | resolved sdk / instrumentation / distro "
        "| seconds | backtracked | pip check | smoke |",
        "| --- | --- | --- | --- | --- | ---: | --- | --- | --- |",
    ]
    for c in done:
        versions = " / ".join(c.resolved.get(n, "–") for n in SHOWN) if c.resolved else "–"
        backtracked = ", ".join(c.backtracked) if c.backtracked else "no"
        mark = "" if c.ok else " **FAILED**"
        lines.append(
            f"| {c.python} | {c.installer} | {EXTRAS[c.target] or 'bare'} | {c.pair} "
            f"| {versions} | {c.seconds:.1f} | {backtracked} | {c.check} | {c.smoke}{mark} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pythons", default="3.10,3.11,3.12,3.13")
    parser.add_argument("--jobs", type=int, default=3, help="cells installed at once")
    parser.add_argument("--no-uv", action="store_true", help="pip cells only")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--wheel", type=Path, help="the checkout's wheel (default: build it)")
    args = parser.parse_args()

    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trim-telemetry-otel"
    cache.mkdir(parents=True, exist_ok=True)
    pythons = [v for v in args.pythons.split(",") if v]
    interpreters = {v: interpreter(v) for v in pythons}
    missing = [v for v, path in interpreters.items() if path is None]
    if missing:
        log(f"no pyenv Python {', '.join(missing)} under {pyenv_root()}/versions")
        return 1
    sdk, distro = newest("opentelemetry-sdk"), newest("opentelemetry-distro")
    pins = {
        "lower": [f"opentelemetry-sdk=={lower_bounds()['opentelemetry-sdk']}"],
        "newest": [f"opentelemetry-sdk=={sdk}"],
        "distro": ["opentelemetry-distro"],
    }
    uv, how = (None, "--no-uv") if args.no_uv else find_uv(cache)
    uv_version = ""
    if uv:
        uv_version = run([uv, "--version"]).stdout.split()[1]
        log(f"uv {uv_version} ({how}); newest sdk {sdk}, distro {distro}")
    else:
        log(f"uv cells left out: {how}; newest sdk {sdk}, distro {distro}")
    with tempfile.TemporaryDirectory(prefix="install-matrix-") as tmp:
        wheel = args.wheel or build_wheel(Path(tmp))
        return run_matrix(args, pythons, interpreters, pins, uv, uv_version, wheel, Path(tmp))


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    [wheel] = out.glob("trim_telemetry_otel-*.whl")
    return wheel.resolve()


def run_matrix(
    args: argparse.Namespace,
    pythons: list[str],
    interpreters: dict[str, Path | None],
    pins: dict[str, list[str]],
    uv: str | None,
    uv_version: str,
    wheel: Path,
    tmp: Path,
) -> int:
    todo = cells(pythons, str(wheel), pins, uv is not None)
    for cell in todo:
        if cell.installer == "uv":
            cell.installer = f"uv {uv_version}"
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(
                run_cell,
                cell,
                interpreters[cell.python],  # type: ignore[arg-type]
                uv if cell.installer.startswith("uv") else None,
                tmp,
            )
            for cell in todo
        ]
        done = []
        for future in concurrent.futures.as_completed(futures):
            cell = future.result()
            done.append(cell)
            log(
                f"{len(done)}/{len(todo)} {cell.python} {cell.installer} {cell.target} "
                f"{cell.pair}: {cell.seconds:.0f} s, {'ok' if cell.ok else 'FAILED'}"
            )
    done.sort(key=lambda c: todo.index(c))
    text = table(done)
    print(text)
    failed = [c for c in done if not c.ok]
    print(f"\ninstall matrix: {len(done) - len(failed)} cells ok, {len(failed)} failed")
    log(f"{len(done)} cells in {time.monotonic() - start:.0f} s")
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
