#!/usr/bin/env bash
# The README's demo: the example shop's suite with telemetry on SQLite, then where the file is and a summary.
set -euo pipefail
cd "$(dirname "$0")/../example"
python=../.venv/bin/python
out=../.telemetry/demo
"$python" manage.py test --testrunner=trim_telemetry_otel.django.TelemetryTestRunner --telemetry-dir "$out" || true
newest=$(ls -t "$out"/run_*.ndjson | head -n 1)
echo
echo "telemetry written to: $(cd "$(dirname "$newest")" && pwd)/$(basename "$newest")"
"$python" -m trim_telemetry_otel.report "$newest"
