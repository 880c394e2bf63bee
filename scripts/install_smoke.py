"""Smoke suite for an INSTALLED trim-telemetry-otel: run it with the Python of the venv to check.

    <venv>/bin/python scripts/install_smoke.py [--runners unittest,pytest,django] [--json]

Each runner runs a tiny suite in a temporary directory (so the checkout is not importable) that
queries sqlite, calls an HTTP server on 127.0.0.1 with the HTTP clients installed, and queries
PostgreSQL (psycopg) and MariaDB (pymysql) where the driver and its extra are installed. Then it
reads the records and checks that each capture is there. Prints one line per capture (or, with
--json, one JSON object) and exits 1 when a capture that should work did not.
"""

from __future__ import annotations

import argparse
import http.server
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

PG_DSN = os.environ.get("SMOKE_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "database": "test"}

TESTS = """
import os, sqlite3, unittest, urllib.request

URL = os.environ["SMOKE_URL"]


class Smoke(unittest.TestCase):
    def test_sqlite(self):
        connection = sqlite3.connect(":memory:")
        cursor = connection.cursor()
        cursor.execute("CREATE TABLE t (x INTEGER)")
        cursor.execute("INSERT INTO t VALUES (?)", (1,))
        cursor.execute("SELECT x FROM t WHERE x = ?", (1,))
        self.assertEqual(cursor.fetchall(), [(1,)])
        connection.close()

    @unittest.skipUnless(CLIENT, "no HTTP client library")
    def test_http(self):
        self.assertEqual(CLIENT(URL + "/smoke"), 200)

    @unittest.skipUnless(os.environ.get("SMOKE_PG"), "psycopg or its extra not installed")
    def test_postgresql(self):
        import psycopg
        with psycopg.connect(os.environ["SMOKE_PG"]) as connection:
            self.assertEqual(connection.execute("SELECT 1").fetchone(), (1,))

    @unittest.skipUnless(os.environ.get("SMOKE_MARIADB"), "pymysql or its extra not installed")
    def test_mariadb(self):
        import pymysql
        connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test")
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            self.assertEqual(cursor.fetchone(), (1,))
        connection.close()
"""

CLIENTS = """
try:
    import requests

    def CLIENT(url):
        return requests.get(url, timeout=5).status_code
except ImportError:
    try:
        import httpx

        def CLIENT(url):
            return httpx.get(url, timeout=5).status_code
    except ImportError:
        CLIENT = None
"""

DJANGO_SETTINGS = """
SECRET_KEY = "smoke"
INSTALLED_APPS = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
"""

DJANGO_TESTS = """
from django.db import connection
from django.test import TestCase


class DjangoSmoke(TestCase):
    def test_sqlite(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s", [1])
            self.assertEqual(cursor.fetchone(), (1,))
"""


class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def expected() -> dict[str, bool]:
    """Which captures this environment should give: the library AND its instrumentation."""
    http_client = installed("requests") or installed("httpx")
    return {
        "sqlite": True,
        "http": http_client,
        "postgresql": installed("psycopg") and installed("opentelemetry.instrumentation.psycopg"),
        "mariadb": installed("pymysql") and installed("opentelemetry.instrumentation.pymysql"),
    }


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def records(directory: Path) -> dict[str, dict[str, object]]:
    found = {}
    for path in sorted(directory.glob("run_*.ndjson")):
        if path.name.endswith(".setup.ndjson") or ".setup" in path.name:
            continue
        for line in path.read_text().splitlines():
            record = json.loads(line)
            found[str(record["name"])] = record
    return found


def check(
    runner: str, want: dict[str, bool], found: dict[str, dict[str, object]]
) -> dict[str, str]:
    results = {}
    for capture, should in want.items():
        if runner == "django" and capture != "sqlite":
            continue
        record = found.get(f"test_{capture}")
        if not should:
            results[capture] = "skipped (not installed)"
        elif record is None:
            results[capture] = "FAIL: no record"
        elif record["status"] != "passed":
            results[capture] = f"FAIL: test {record['status']}"
        elif capture == "http":
            urls = [str(u) for u in record.get("net_urls") or []]  # type: ignore[attr-defined]
            ok = any("/smoke" in url for url in urls)
            results[capture] = "ok" if ok else f"FAIL: net_urls={urls}"
        else:
            queries = record.get("db_queries") or []
            ok = bool(queries)
            results[capture] = f"ok ({len(queries)} queries)" if ok else "FAIL: no db_queries"  # type: ignore[arg-type]
    return results


def smoke(runner: str, work: Path, url: str) -> dict[str, str]:
    want = expected()
    env = {**os.environ, "SMOKE_URL": url, "TRIM_TELEMETRY_DIR": str(work / ".telemetry")}
    env.pop("PYTHONPATH", None)
    if want["postgresql"]:
        env["SMOKE_PG"] = PG_DSN
    if want["mariadb"]:
        env["SMOKE_MARIADB"] = "1"
    if runner == "django":
        (work / "smoke_settings.py").write_text(DJANGO_SETTINGS)
        (work / "test_django_smoke.py").write_text(DJANGO_TESTS)
        env["DJANGO_SETTINGS_MODULE"] = "smoke_settings"
        command = [sys.executable, "-m", "trim_telemetry_otel.django", "test_django_smoke"]
    else:
        (work / "test_smoke.py").write_text(CLIENTS + TESTS)
        if runner == "pytest":
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            command += ["--telemetry", "test_smoke.py"]
        else:
            command = [sys.executable, "-m", "trim_telemetry_otel.unittest", "test_smoke"]
    done = run(command, work, env)
    results = check(runner, want, records(work / ".telemetry"))
    if done.returncode != 0:
        results["exit"] = f"FAIL: exit {done.returncode}: {(done.stderr or done.stdout)[-600:]}"
    return results


def django_missing() -> str:
    """Without Django, the Django entry point must name the extra instead of a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "trim_telemetry_otel.django"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode == 2 and "[django]" in done.stderr and "Traceback" not in done.stderr:
        return "ok (names the extra)"
    return f"FAIL: exit {done.returncode}: {done.stderr[-300:]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", default="unittest")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import trim_telemetry_otel

    where = Path(trim_telemetry_otel.__file__).resolve()
    if "site-packages" not in where.parts:
        print(f"FAIL: trim_telemetry_otel imported from {where}, not an installed copy")
        return 1

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    outcome: dict[str, dict[str, str]] = {}
    try:
        for runner in args.runners.split(","):
            with tempfile.TemporaryDirectory(prefix=f"smoke-{runner}-") as work:
                outcome[runner] = smoke(runner, Path(work), url)
    finally:
        server.shutdown()
    if not installed("django"):
        outcome["django"] = {"missing": django_missing()}
    failed = any(v.startswith("FAIL") for r in outcome.values() for v in r.values())
    if args.json:
        print(json.dumps(outcome))
    else:
        for runner, results in outcome.items():
            for capture, result in results.items():
                print(f"{runner:8} {capture:10} {result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
