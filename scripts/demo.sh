#!/usr/bin/env bash
# The README's demo: the example shop's suite with telemetry on the embedded default (SQLite, no
# server, no Docker), then where the run file is, a summary of it, the HTML report and the query
# gate against the example's committed baseline.
set -uo pipefail
cd "$(dirname "$0")/../example"
unset DATABASE_URL  # the embedded default, whatever the shell says
python=../.venv/bin/python
out=$(cd .. && pwd)/.telemetry/demo

"$python" manage.py test --noinput \
    --testrunner=trim_telemetry_otel.django.TelemetryTestRunner --telemetry-dir "$out"
status=$?

newest=$(ls -t "$out"/run_*.ndjson 2>/dev/null | head -n 1)
if [ -z "$newest" ]; then
    echo "demo: no run file was written to $out" >&2
    exit 1
fi
echo
echo "telemetry: $(wc -l < "$newest") test records in $newest"
echo
"$python" -m trim_telemetry_otel summary --top 5 "$newest"
echo
"$python" -m trim_telemetry_otel html "$newest" -o "$out/report.html"
# The gate as CI would run it (mode none: never writes). Shown, not enforced: the demo's status
# is the suite's.
"$python" -m trim_telemetry_otel check "$newest" --baseline telemetry-baseline.json --mode none ||
    true
echo
echo "one record, pretty-printed (the N+1 endpoint's test):"
grep -m 1 '"name":"test_naive_order_list' "$newest" | "$python" -m json.tool | head -n 40
exit "$status"
