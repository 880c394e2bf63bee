"""The suites the benchmark generates, and the OpenTelemetry floor each one is compared with.

The floor is what any span-based tool pays by itself: the stock sqlite3 instrumentor and one SDK
root span per test, with no processor at all. It is independent of our code, so it is measured
once per round whatever checkouts are compared.
"""

from __future__ import annotations

from pathlib import Path

# pytest: ``-p trim_floor`` (the directory holding it goes on PYTHONPATH).
PYTEST_FLOOR = """
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

provider = TracerProvider()
SQLite3Instrumentor().instrument(tracer_provider=provider)
tracer = provider.get_tracer("floor")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    with tracer.start_as_current_span(item.nodeid, context=Context()):
        return (yield)
"""

# Django's runner: ``--testrunner=floor_runner.FloorRunner``.
DJANGO_FLOOR = """
import unittest

from django.test.runner import DiscoverRunner
from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
from opentelemetry.sdk.trace import TracerProvider

provider = TracerProvider()
tracer = provider.get_tracer("floor")


class FloorRunner(DiscoverRunner):
    def setup_test_environment(self, **kwargs):
        SQLite3Instrumentor().instrument(tracer_provider=provider)
        super().setup_test_environment(**kwargs)

    def get_resultclass(self):
        base = super().get_resultclass() or unittest.TextTestResult

        class FloorResult(base):
            def startTest(self, test):
                self._span = tracer.start_span(test.id(), context=Context())
                self._token = context.attach(trace.set_span_in_context(self._span))
                super().startTest(test)

            def stopTest(self, test):
                super().stopTest(test)
                context.detach(self._token)
                self._span.end()

        return FloorResult
"""


def write_floor_plugin(directory: Path) -> None:
    (directory / "trim_floor.py").write_text(PYTEST_FLOOR)


def write_trivial(directory: Path, tests: int) -> None:
    """``tests`` plain test functions, 300 to a module."""
    directory.mkdir(parents=True)
    for start in range(0, tests, 300):
        body = "".join(
            f"def test_{n}():\n    pass\n\n\n" for n in range(start, min(tests, start + 300))
        )
        (directory / f"test_plain_{start // 300}.py").write_text(body)


def write_parametrized(directory: Path, tests: int) -> None:
    """``tests`` parametrized cases of one function that uses a module fixture."""
    directory.mkdir(parents=True)
    (directory / "test_param.py").write_text(
        "import pytest\n\n\n"
        '@pytest.fixture(scope="module")\n'
        "def shared():\n    return {'ready': True}\n\n\n"
        f'@pytest.mark.parametrize("n", range({tests}))\n'
        "def test_case(shared, n):\n    assert shared['ready']\n"
    )


SETTINGS = """
SECRET_KEY = "benchmark"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "items",
]
MIDDLEWARE = []
ROOT_URLCONF = "benchsite.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
"""

MANAGE = """
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

MODELS = """
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=50)
    price = models.IntegerField()
"""

API = """
from rest_framework import routers, serializers, viewsets

from .models import Item


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "name", "price"]


class ItemViewSet(viewsets.ModelViewSet):
    queryset = Item.objects.order_by("id")
    serializer_class = ItemSerializer


router = routers.DefaultRouter()
router.register("items", ItemViewSet)
"""

URLS = """
from items.api import router

urlpatterns = router.urls
"""

RUNNER_TESTS_HEAD = """
from django.test import TestCase

from items.models import Item
"""

RUNNER_CLASS = """

class TestItems{c}(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.item = Item.objects.create(name="first", price=1)
"""

RUNNER_TEST = """
    def test_{n}(self):
        Item.objects.create(name="second", price=2)
        self.assertEqual(Item.objects.filter(price__gte=1).count(), 2)
        self.assertEqual([i.name for i in Item.objects.filter(name="second")], ["second"])
"""

API_TESTS = """
import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.django_db
@pytest.mark.parametrize("n", range({tests}))
def test_create_then_list(api, n):
    created = api.post("/items/", {{"name": f"item {{n}}", "price": n}}, format="json")
    assert created.status_code == 201
    listed = api.get("/items/")
    assert listed.status_code == 200
    assert [item["price"] for item in listed.json()] == [n]
"""


def write_django_project(directory: Path, runner_tests: int, api_tests: int) -> None:
    """A small DRF project: ``runner_tests`` Django TestCase tests (10 to a class, each class with
    ``setUpTestData``, 3 ORM queries a test) and ``api_tests`` pytest-django API tests."""
    site, items = directory / "benchsite", directory / "items"
    for package in (site, items, items / "runner_tests", items / "api_tests"):
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
    (directory / "manage.py").write_text(MANAGE)
    (directory / "floor_runner.py").write_text(DJANGO_FLOOR)
    (directory / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = benchsite.settings\npython_files = test_*.py\n"
    )
    (site / "settings.py").write_text(SETTINGS)
    (site / "urls.py").write_text(URLS)
    (items / "models.py").write_text(MODELS)
    (items / "api.py").write_text(API)
    body = [RUNNER_TESTS_HEAD]
    for n in range(runner_tests):
        if n % 10 == 0:
            body.append(RUNNER_CLASS.format(c=n // 10))
        body.append(RUNNER_TEST.format(n=n))
    (items / "runner_tests" / "test_orm.py").write_text("".join(body))
    (items / "api_tests" / "test_api.py").write_text(API_TESTS.format(tests=api_tests))
