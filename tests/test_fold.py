"""The fold on its own: finished spans in, one record out, no runner involved."""

from __future__ import annotations

import jsonschema
from opentelemetry.trace import SpanKind

from tests.spans import SpanFactory
from trim_telemetry_otel import attributes as attr
from trim_telemetry_otel.fold import fold_test, worth_a_setup_record
from trim_telemetry_otel.schema import record_json_schema


def fold(factory: SpanFactory) -> dict[str, object]:
    root, children = factory.root_and_children()
    record = dict(fold_test(root, children))
    jsonschema.validate(record, record_json_schema())
    return record


def test_identical_statements_group_with_count_and_summed_duration() -> None:
    spans = SpanFactory()
    with spans.test():
        for user_id in (1, 2, 3):
            spans.query(f"SELECT * FROM users WHERE id = {user_id}")
        spans.query("SELECT * FROM orders WHERE user_id = %s")
        spans.query("SELECT * FROM users WHERE id = 4")

    record = fold(spans)

    assert [(q["sql"], q["count"]) for q in record["db_queries"]] == [  # type: ignore[attr-defined]
        ("SELECT * FROM users WHERE id = ?", 4),
        ("SELECT * FROM orders WHERE user_id = %s", 1),
    ]
    assert record["db_query_count"] == 5
    assert record["db_duplicate_count"] == 3
    users = record["db_queries"][0]  # type: ignore[index]
    durations = [
        (s.end_time - s.start_time) / 1e6  # type: ignore[operator]
        for s in spans.finished()
        if s.attributes and "users" in str(s.attributes.get("db.statement"))
    ]
    assert abs(users["total_duration_ms"] - sum(durations)) < 0.01


def test_literal_values_never_reach_the_record() -> None:
    spans = SpanFactory()
    with spans.test():
        spans.query("SELECT * FROM users WHERE email = 'alice@example.com' AND pin = 4242")

    record = fold(spans)

    assert "alice" not in str(record)
    assert "4242" not in str(record)


def test_the_same_sql_on_two_databases_stays_two_groups() -> None:
    spans = SpanFactory()
    with spans.test():
        spans.query("SELECT 1", system="sqlite")
        spans.query("SELECT 1", system="postgresql")

    record = fold(spans)

    assert [q["db_system"] for q in record["db_queries"]] == ["sqlite", "postgresql"]  # type: ignore[attr-defined]


def test_failed_queries_are_counted() -> None:
    spans = SpanFactory()
    with spans.test():
        spans.query("SELECT * FROM missing", error=True)
        spans.query("SELECT 1")

    assert fold(spans)["db_error_count"] == 1


def test_stable_semantic_convention_names_are_read_too() -> None:
    spans = SpanFactory()
    with (
        spans.test(),
        spans.tracer.start_as_current_span(
            "SELECT",
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": "postgresql",
                "db.query.text": "SELECT a FROM b WHERE c = 7",
            },
        ),
    ):
        pass

    record = fold(spans)

    assert record["db_queries"] == [
        {
            "sql": "SELECT a FROM b WHERE c = ?",
            "sql_truncated": False,
            "count": 1,
            "total_duration_ms": record["db_queries"][0]["total_duration_ms"],  # type: ignore[index]
            "db_system": "postgresql",
            "db_name": None,
            "operation": "SELECT",
            "summary": "SELECT b",
            "housekeeping": False,
        }
    ]


def test_a_db_span_nested_in_another_counts_once() -> None:
    spans = SpanFactory()
    with (
        spans.test(),
        spans.tracer.start_as_current_span(
            "SELECT", attributes={"db.system": "postgresql", "db.statement": "SELECT 1"}
        ),
    ):
        spans.query("SELECT 1", system="postgresql")

    record = fold(spans)

    assert record["db_query_count"] == 1


def test_http_calls_are_redacted_grouped_and_mocked_ones_kept_apart() -> None:
    spans = SpanFactory()
    with spans.test():
        spans.http("https://alice:s3cret@api.example.com/v1/rates?token=abc&base=EUR")
        spans.http("https://alice:s3cret@api.example.com/v1/rates?token=abc&base=EUR")
        spans.http("http://127.0.0.1:8000/quote", method="POST", status=201)
        spans.http("https://mocked.example.com/x", **{attr.HTTP_MOCKED: True})

    record = fold(spans)

    redacted = "https://REDACTED:REDACTED@api.example.com/v1/rates?token=REDACTED&base=EUR"
    assert record["net_urls"] == [redacted, "http://127.0.0.1:8000/quote"]
    assert record["net_requests"] == [
        {
            "method": "GET",
            "url": redacted,
            "status_code": 200,
            "count": 2,
            "total_duration_ms": record["net_requests"][0]["total_duration_ms"],  # type: ignore[index]
        },
        {
            "method": "POST",
            "url": "http://127.0.0.1:8000/quote",
            "status_code": 201,
            "count": 1,
            "total_duration_ms": record["net_requests"][1]["total_duration_ms"],  # type: ignore[index]
        },
    ]
    assert record["net_request_count"] == 3
    assert record["net_mocked_urls"] == ["https://mocked.example.com/x"]
    assert "s3cret" not in str(record)


def test_an_http_span_under_another_http_span_is_one_call() -> None:
    spans = SpanFactory()
    with (
        spans.test(),
        spans.tracer.start_as_current_span(
            "GET", kind=SpanKind.CLIENT, attributes={"http.url": "http://a/"}
        ),
    ):
        spans.http("http://a/")

    assert fold(spans)["net_request_count"] == 1


def test_spans_of_other_traces_are_ignored() -> None:
    spans = SpanFactory()
    with spans.test():
        spans.query("SELECT 1")
    with spans.test("tests/test_x.py::test_other"):
        spans.query("SELECT 2")
    first_root = next(s for s in spans.finished() if s.name == "tests/test_x.py::test_y")

    record = fold_test(first_root, [s for s in spans.finished() if s.parent is not None])

    assert record["db_query_count"] == 1


def test_the_root_span_names_the_test_and_its_outcome() -> None:
    spans = SpanFactory()
    with spans.test(
        **{
            attr.TEST_STATUS: "failed",
            attr.TEST_FAILURE_PHASE: "call",
            attr.TEST_FAILURE_TYPE: "AssertionError",
            attr.TEST_FAILURE_MESSAGE: "x" * 5000,
            attr.TEST_CLASS: "TestThing",
        }
    ) as root:
        context = root.get_span_context()

    record = fold(spans)

    assert record["id"] == "tests/test_x.py::test_y"
    assert record["name"] == "test_y"
    assert record["class"] == "TestThing"
    assert record["status"] == "failed"
    assert record["failure_type"] == "AssertionError"
    assert len(record["failure_message"]) == 2000  # type: ignore[arg-type]
    assert record["trace_id"] == f"{context.trace_id:032x}"
    assert record["span_id"] == f"{context.span_id:016x}"
    assert record["run_id"] == "run_20261121_140301"
    assert record["start_time"].endswith("+00:00")  # type: ignore[attr-defined]


def test_a_root_that_ended_without_an_outcome_is_an_error() -> None:
    spans = SpanFactory()
    with spans.test(**{attr.TEST_STATUS: "unknown"}):
        pass

    assert fold(spans)["status"] == "error"


def test_groups_follow_the_order_queries_started_in_not_ended_in() -> None:
    spans = SpanFactory()
    with spans.test():
        outer = spans.tracer.start_span(
            "SELECT", attributes={"db.system": "sqlite", "db.statement": "SELECT first"}
        )
        spans.query("SELECT second")
        outer.end()

    assert [q["sql"] for q in fold(spans)["db_queries"]] == ["SELECT first", "SELECT second"]  # type: ignore[attr-defined]


def test_djangos_sqlite_quote_bookkeeping_is_not_the_tests_work() -> None:
    spans = SpanFactory()
    with spans.test():
        spans.query("SELECT id FROM shop_product WHERE id = ?")
        spans.query("SELECT QUOTE(?), QUOTE(?)")
        spans.query("SELECT QUOTE(?)")
        spans.query("SELECT QUOTE(name) FROM shop_product")  # the application's own

    record = fold(spans)

    assert [q["sql"] for q in record["db_queries"]] == [  # type: ignore[attr-defined]
        "SELECT id FROM shop_product WHERE id = ?",
        "SELECT QUOTE(name) FROM shop_product",
    ]


def test_a_mock_that_raises_is_not_a_network_call() -> None:
    spans = SpanFactory()
    with spans.test():
        try:
            with spans.tracer.start_as_current_span(
                "GET", kind=SpanKind.CLIENT, attributes={"http.url": "https://api.example.com/"}
            ):
                exec(
                    compile(
                        "raise TimeoutError('mocked')",
                        "/site-packages/responses/__init__.py",
                        "exec",
                    )
                )
        except TimeoutError:
            pass
        try:
            with spans.tracer.start_as_current_span(
                "GET", kind=SpanKind.CLIENT, attributes={"http.url": "http://127.0.0.1:1/"}
            ):
                raise ConnectionRefusedError("real")
        except ConnectionRefusedError:
            pass

    record = fold(spans)

    assert record["net_mocked_urls"] == ["https://api.example.com/"]
    assert record["net_urls"] == ["http://127.0.0.1:1/"]
    assert record["net_error_count"] == 1


def test_repeated_transaction_control_is_not_a_duplicate_query() -> None:
    spans = SpanFactory()
    with spans.test():
        for _ in range(3):
            spans.query('SAVEPOINT "s1_x1"')
            spans.query("SELECT 1")
            spans.query('RELEASE SAVEPOINT "s1_x1"')

    record = fold(spans)

    assert record["db_duplicate_count"] == 2  # the SELECT's repeats only
    assert [(q["sql"], q["count"]) for q in record["db_queries"]] == [  # type: ignore[attr-defined]
        ("SAVEPOINT ?", 3),
        ("SELECT ?", 3),
        ("RELEASE SAVEPOINT ?", 3),
    ]


def test_queries_under_djangos_connection_upkeep_are_housekeeping() -> None:
    spans = SpanFactory()
    with spans.test():
        with spans.tracer.start_as_current_span(
            "django.db.is_usable", attributes={attr.DB_HOUSEKEEPING: True}
        ):
            spans.query("SELECT 1", system="postgresql")
        spans.query("SELECT 1", system="postgresql")  # the application's own
        spans.query("SELECT * FROM t", system="postgresql")

    record = fold(spans)

    assert [(q["sql"], q["housekeeping"], q["count"]) for q in record["db_queries"]] == [  # type: ignore[attr-defined]
        ("SELECT ?", True, 1),
        ("SELECT ?", False, 1),
        ("SELECT * FROM t", False, 1),
    ]
    assert record["db_query_count"] == 2
    assert record["db_housekeeping_count"] == 1
    assert record["db_select_count"] == 2
    assert record["db_duplicate_count"] == 0


def test_query_kinds_sum_to_the_query_count() -> None:
    spans = SpanFactory()
    with spans.test():
        for statement in (
            "BEGIN",
            "SELECT * FROM t",
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "COMMIT",
            "PRAGMA x",
        ):
            spans.query(statement)

    record = fold(spans)

    assert [record[f"db_{kind}_count"] for kind in ("select", "insert", "update", "delete")] == [
        1,
        1,
        1,
        1,
    ]
    assert record["db_transaction_count"] == 2
    assert record["db_other_count"] == 1
    assert record["db_query_count"] == 7
    assert [q["summary"] for q in record["db_queries"]][:3] == [  # type: ignore[attr-defined]
        "BEGIN",
        "SELECT t",
        "INSERT t",
    ]


def test_each_request_on_the_wire_is_a_call_of_its_own() -> None:
    spans = SpanFactory()
    with spans.test():
        with spans.tracer.start_as_current_span(
            "GET",
            kind=SpanKind.CLIENT,
            attributes={"http.method": "GET", "http.url": "http://h/a", "http.status_code": 200},
        ) as call:
            for url, status in (("http://h/a", 302), ("http://h/b?token=s3cret", 503)):
                call.add_event(
                    attr.HTTP_HOP_EVENT,
                    {attr.HOP_METHOD: "GET", attr.HOP_URL: url, attr.HOP_STATUS_CODE: status},
                )
            call.add_event(
                attr.HTTP_HOP_EVENT, {attr.HOP_METHOD: "GET", attr.HOP_URL: "http://h/c"}
            )
        spans.http("http://h/plain", status=404)

    record = fold(spans)

    assert [(r["url"], r["status_code"]) for r in record["net_requests"]] == [  # type: ignore[attr-defined]
        ("http://h/a", 302),
        ("http://h/b?token=REDACTED", 503),
        ("http://h/c", None),
        ("http://h/plain", 404),
    ]
    assert record["net_request_count"] == 4
    assert record["net_http_error_count"] == 2
    assert record["net_error_count"] == 1
    [call_span] = [s for s in spans.finished() if s.name == "GET" and s.events]
    hops = sum(r["total_duration_ms"] for r in record["net_requests"][:3])  # type: ignore[index]
    assert abs(hops - (call_span.end_time - call_span.start_time) / 1e6) < 0.01  # type: ignore[operator]


def test_sleep_spans_are_counted_and_timed() -> None:
    spans = SpanFactory()
    with spans.test():
        for _ in range(2):
            with spans.tracer.start_as_current_span("sleep", attributes={attr.SLEEP: True}):
                pass

    record = fold(spans)

    assert record["sleep_count"] == 2
    assert record["sleep_total_ms"] >= 0
    assert record["db_query_count"] == 0
    assert record["net_request_count"] == 0


def test_setup_that_only_checked_a_connection_is_not_worth_a_record() -> None:
    spans = SpanFactory()
    with (
        spans.test(),
        spans.tracer.start_as_current_span(
            "django.db.is_usable", attributes={attr.DB_HOUSEKEEPING: True}
        ),
    ):
        pass

    root, children = spans.root_and_children()
    assert not worth_a_setup_record(fold_test(root, children), children)


def test_times_are_written_as_the_datetime_module_writes_them() -> None:
    from datetime import datetime, timezone

    from trim_telemetry_otel.isotime import iso_time

    def expected(time_ns: int) -> str:
        moment = datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc)
        return moment.isoformat(timespec="microseconds")

    second = 1_764_619_200 * 10**9
    # Half a microsecond either way, the last nanoseconds of a second, a leap year's end.
    edges = [second + n for n in (0, 1, 499, 500, 501, 1_500, 2_500, 999_999_499, 999_999_500)]
    edges += [second + n * 1000 + 500 for n in range(1, 3000)]
    edges += [951_868_799_999_999_999, 0, 1]
    assert [iso_time(t) for t in edges] == [expected(t) for t in edges]
    assert iso_time(None) == expected(0)


def test_spans_that_keep_their_attributes_in_a_plain_mapping_fold_the_same() -> None:
    from opentelemetry.sdk.trace import ReadableSpan

    spans = SpanFactory()
    with spans.test():
        spans.query("SELECT * FROM users WHERE id = 1")
        spans.query("SELECT * FROM users WHERE id = 2")
    root, children = spans.root_and_children()

    def plain(span: ReadableSpan) -> ReadableSpan:
        return ReadableSpan(
            name=span.name,
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=dict(span.attributes or {}),
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
        )

    assert fold_test(plain(root), [plain(s) for s in children]) == fold_test(root, children)
    assert fold_test(root, children)["db_queries"][0]["count"] == 2


def test_a_test_with_nothing_under_it_gets_the_totals_the_tallies_would_give() -> None:
    # The fold skips the tallies for an empty test: its shortcut must say what they would.
    from trim_telemetry_otel.fold import _nothing_under_it, _totals

    assert _nothing_under_it() == _totals([])
