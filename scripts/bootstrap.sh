#!/usr/bin/env bash
# Creates .venv and installs the package with everything the tests and the demo need.
# Safe to re-run: it reinstalls only when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv

has_mysql_headers() {
    command -v pkg-config >/dev/null 2>&1 &&
        { pkg-config --exists libmariadb || pkg-config --exists mysqlclient; }
}

# The HTML report's test opens it in headless Chromium (it fails without one under CI=true).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing chromium for the HTML report's browser test" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
        >/dev/null; } || echo "bootstrap: could not install chromium" >&2
fi

stamp=".venv/.installed-$(cat pyproject.toml scripts/bootstrap.sh | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    # mysqlclient (Django's MySQL driver) compiles against the MariaDB client headers.
    if ! has_mysql_headers; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "bootstrap: installing libmariadb-dev and pkg-config for mysqlclient" >&2
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                libmariadb-dev pkg-config >/dev/null; } ||
                echo "bootstrap: could not install libmariadb-dev" >&2
        else
            echo "bootstrap: no MariaDB client headers (apt-get install libmariadb-dev" \
                "pkg-config): mysqlclient skipped, its tests will skip" >&2
        fi
    fi
    extras="dev"
    if has_mysql_headers; then extras="dev,mysql"; fi
    pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
    "${pip[@]}" install --upgrade pip
    "${pip[@]}" install -e ".[$extras]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
