"""Span attribute names: the ones we set on a test's root span, and the ones we read from children.

The root span carries everything the record needs about the test itself, so that the fold can work
from spans alone: the same record comes out of the in-process SpanProcessor and out of the
``trim_ndjson`` exporter, which sees nothing but finished spans.
"""

from __future__ import annotations

# OpenTelemetry semantic conventions (test.* and code.* namespaces).
TEST_CASE_NAME = "test.case.name"
TEST_CASE_RESULT_STATUS = "test.case.result.status"  # "pass" | "fail" | "skipped" | "xfail"
TEST_SUITE_NAME = "test.suite.name"
CODE_FUNCTION_NAME = "code.function.name"
CODE_FILE_PATH = "code.file.path"
CODE_LINE_NUMBER = "code.line.number"

# Our own attributes on the root span. `TEST_ID` doubles as the marker of a test root.
TEST_ID = "trim.test.id"
TEST_NAME = "trim.test.name"
TEST_CLASS = "trim.test.class"
TEST_MODULE = "trim.test.module"
TEST_FILE = "trim.test.file"
TEST_FRAMEWORK = "trim.test.framework"
TEST_STATUS = "trim.test.status"
TEST_STATUS_DETAIL = "trim.test.status_detail"
TEST_FAILURE_PHASE = "trim.test.failure_phase"
TEST_FAILURE_TYPE = "trim.test.failure_type"
TEST_FAILURE_MESSAGE = "trim.test.failure_message"
TEST_SKIP_REASON = "trim.test.skip_reason"
RUN_ID = "trim.run.id"
# Time spent in shared set-up roots while the test was open: not the test's own time.
TEST_SHARED_SETUP_NS = "trim.test.shared_setup_ns"
# "test" (the default) or "setup": work done for several tests at once (a session fixture,
# setUpClass, setUpTestData, creating the test databases) is folded the same way but written to
# the run's setup file, so that it is neither lost nor charged to whichever test came first.
RECORD_KIND = "trim.record.kind"
KIND_TEST = "test"
KIND_SETUP = "setup"

# Set by our requests response hook when a mocking library answered instead of the network.
HTTP_MOCKED = "trim.http.mocked"

# Children: old semantic conventions are the default, the stable ones appear with
# OTEL_SEMCONV_STABILITY_OPT_IN; read both. The default name comes first because a miss costs
# more than a hit on span attributes, and this runs for every span of every test.
DB_SYSTEM = ("db.system", "db.system.name")
DB_STATEMENT = ("db.statement", "db.query.text")
DB_NAME = ("db.name", "db.namespace")
HTTP_URL = ("http.url", "url.full")
HTTP_METHOD = ("http.method", "http.request.method")
HTTP_STATUS_CODE = ("http.status_code", "http.response.status_code")

# Our own markers on spans the fold reads (schema 1.1.0).
# An INTERNAL span around work Django's backend does on its own (connection set-up, health
# checks, time-zone changes): the DB spans under it are housekeeping, not the test's queries.
DB_HOUSEKEEPING = "trim.db.housekeeping"
# One event per attempt a request made on the wire (http.client), on the client span current
# then: redirect hops, retries and authentication round trips that one client call hides.
HTTP_HOP_EVENT = "trim.http.hop"
HOP_METHOD = "http.request.method"
HOP_URL = "url.full"
HOP_STATUS_CODE = "http.response.status_code"
HOP_ERROR_TYPE = "error.type"
# An INTERNAL span per time.sleep / asyncio.sleep call with a positive delay.
SLEEP = "trim.sleep"
