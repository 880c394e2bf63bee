#!/usr/bin/env bash
# Creates .venv and installs the package with everything the tests and the demo need.
# Safe to re-run: it reinstalls only when pyproject.toml, this script or the settings changed.
#
#   PYTHON=python3.13 VENV=.venv-3.13 scripts/bootstrap.sh   # another interpreter, its own venv
#   ALSO='django>=4.2,<5' VENV=.venv-3.10 scripts/bootstrap.sh   # pin something on top of .[dev]
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=${VENV:-.venv}
also=${ALSO:-}
started=$SECONDS

say() { echo "bootstrap: $* ($((SECONDS - started)) s)" >&2; }

has_mysql_headers() {
    command -v pkg-config >/dev/null 2>&1 &&
        { pkg-config --exists libmariadb || pkg-config --exists mysqlclient; }
}

# The HTML report's test opens it in headless Chromium (it fails without one under CI=true).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium for the HTML report's browser test (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
        >/dev/null; } || say "could not install chromium"
fi

stamp="$venv/.installed-$(
    { cat pyproject.toml scripts/bootstrap.sh; echo "$python $also"; } | sha1sum | cut -c1-12
)"
if [ -f "$stamp" ]; then
    exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
# mysqlclient (Django's MySQL driver) compiles against the MariaDB client headers.
if ! has_mysql_headers; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing libmariadb-dev and pkg-config for mysqlclient (apt-get)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            libmariadb-dev pkg-config >/dev/null; } ||
            say "could not install libmariadb-dev"
    else
        say "no MariaDB client headers (apt-get install libmariadb-dev pkg-config):" \
            "mysqlclient skipped, its tests will skip"
    fi
fi
drivers=()
if has_mysql_headers; then drivers=("mysqlclient>=2.2"); fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
say "upgrading pip in $venv"
"${pip[@]}" install --quiet --upgrade pip
# pip prints a line per package it collects: shown as a count, so that ~1 min is not silence.
say "installing the package and its dev dependencies (pip's cache makes reruns fast)"
log="$venv/bootstrap.log"
if ! "${pip[@]}" install --progress-bar off -e ".[dev]" "${drivers[@]}" ${also:+"$also"} 2>&1 | tee "$log" |
    awk '/^Collecting /  { n++; if (n % 10 == 0) printf "bootstrap: %d packages collected\n", n > "/dev/stderr" }
         /^Successfully installed/ { printf "bootstrap: installed %d packages\n", NF - 2 > "/dev/stderr" }'
then
    tail -n 30 "$log" >&2
    say "pip install failed (whole log: $log)"
    exit 1
fi
rm -f "$venv"/.installed-*
touch "$stamp"
say "ready: $venv"
