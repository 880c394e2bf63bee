"""Every outcome Django's runner can report, for comparing our runner's output with Django's."""

import inspect
import unittest

from django.test import SimpleTestCase, TestCase, TransactionTestCase
from shop.models import Author, Book


class Outcomes(SimpleTestCase):
    def test_passes(self) -> None:
        pass

    def test_fails(self) -> None:
        self.assertEqual(1, 2)

    def test_errors(self) -> None:
        raise KeyError("boom")

    @unittest.skip("not today")
    def test_skipped(self) -> None:
        pass

    @unittest.expectedFailure
    def test_expected_failure(self) -> None:
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    def test_unexpected_success(self) -> None:
        pass

    def test_subtests(self) -> None:
        for n in range(3):
            with self.subTest(n=n):
                self.assertLess(n, 2)


class BrokenTestData(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        Author.objects.create(name="made before the failure")
        raise ConnectionError("test data broke")

    def test_never_runs(self) -> None:
        pass


class BrokenConstraint(TestCase):
    def test_violates_a_deferred_foreign_key(self) -> None:
        # Django checks deferred constraints when it rolls the test back: after stopTest.
        Book.objects.create(title="orphan", author_id=999)


class MissingFixture(TransactionTestCase):
    # Loaded in setUpClass (Django 5.2 and later) or before each test's startTest (up to 5.1).
    fixtures = ["does_not_exist"]

    def test_never_runs(self) -> None:
        pass


class BrokenPerTestSetUp(TransactionTestCase):
    # Django sets up the database of each test (from 5.2: each but the first) before startTest.
    set_ups = 0

    def _fixture_setup(self_or_cls) -> None:  # type: ignore[misc]
        super()._fixture_setup()
        BrokenPerTestSetUp.set_ups += 1
        if BrokenPerTestSetUp.set_ups == 2:
            raise ConnectionError("per-test set-up broke")

    # Django 5.2 made _fixture_setup a classmethod (called from the classmethod _pre_setup); up to
    # 5.1 it is an instance method, and a classmethod override there calls it without self
    # (a TypeError in setUp). The override takes the form of the method it overrides.
    if isinstance(inspect.getattr_static(TransactionTestCase, "_fixture_setup"), classmethod):
        _fixture_setup = classmethod(_fixture_setup)  # type: ignore[assignment]

    def test_first(self) -> None:
        pass

    def test_second(self) -> None:
        pass
