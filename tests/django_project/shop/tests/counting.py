"""What Django itself sees: each test's queries, captured with Django's CaptureQueriesContext.

With TRIM_QUERY_LOG set, every test appends {"id", "count", "sql", "driver"} to that file (driver:
the module of the default connection's DB-API class); the pytest side compares it with the
telemetry record of the same test.
"""

import json
import os

from django.db import connections
from django.test import TestCase
from django.test.utils import CaptureQueriesContext


class CountedTestCase(TestCase):
    def setUp(self) -> None:
        log = os.environ.get("TRIM_QUERY_LOG")
        if log:
            aliases = sorted(self.databases)
            contexts = [CaptureQueriesContext(connections[alias]) for alias in aliases]
            for context in contexts:
                context.__enter__()

            def write() -> None:
                for context in contexts:
                    context.__exit__(None, None, None)
                queries = [q["sql"] for context in contexts for q in context.captured_queries]
                driver = connections["default"].connection.__class__.__module__
                entry = {"id": self.id(), "count": len(queries), "sql": queries, "driver": driver}
                line = json.dumps(entry)
                with open(log, "a") as file:
                    file.write(line + "\n")

            # The first cleanup registered runs last: after tearDown and every other cleanup.
            self.addCleanup(write)
        super().setUp()
