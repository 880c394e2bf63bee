"""Every outcome Django's runner can report, for comparing our runner's output with Django's."""

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
    # Loaded before each test, before unittest's startTest: a failure is reported without it.
    fixtures = ["does_not_exist"]

    def test_never_runs(self) -> None:
        pass


class BrokenPerTestSetUp(TransactionTestCase):
    # Django sets up the database of each test but the first before unittest's startTest.
    set_ups = 0

    @classmethod
    def _fixture_setup(cls) -> None:
        super()._fixture_setup()
        cls.set_ups += 1
        if cls.set_ups == 2:
            raise ConnectionError("per-test set-up broke")

    def test_first(self) -> None:
        pass

    def test_second(self) -> None:
        pass
