"""Tests during which Django's backend does its own connection upkeep (health checks, time-zone
changes) next to the test's queries: Django's query log leaves the upkeep out, and so must
``db_query_count``."""

from django.db import connection
from django.test import override_settings

from shop.models import Author

from .counting import CountedTestCase


class UpkeepTests(CountedTestCase):
    def test_a_health_check_before_a_query(self) -> None:
        # What CONN_HEALTH_CHECKS does at the first query of every request.
        connection.health_check_enabled = True
        connection.health_check_done = False
        self.assertEqual(Author.objects.count(), 0)

    def test_a_time_zone_change_resets_the_session_time_zone(self) -> None:
        # Without USE_TZ, PostgreSQL sessions follow TIME_ZONE: Django resets them on the change.
        with override_settings(USE_TZ=False, TIME_ZONE="Asia/Tokyo"):
            Author.objects.create(name="tokyo")
        self.assertEqual(Author.objects.filter(name="tokyo").count(), 1)

    def test_an_applications_own_select_1_is_a_query(self) -> None:
        # A health-check view's query: Django logs it, so it counts.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            self.assertEqual(cursor.fetchone()[0], 1)

    def test_every_kind_of_statement(self) -> None:
        author = Author.objects.create(name="kinds")
        Author.objects.filter(pk=author.pk).update(name="renamed")
        if connection.features.has_select_for_update:
            self.assertEqual(len(Author.objects.select_for_update().filter(pk=author.pk)), 1)
        Author.objects.filter(pk=author.pk).delete()


class IteratorTests(CountedTestCase):
    def test_a_queryset_iterated_in_chunks(self) -> None:
        Author.objects.bulk_create([Author(name=f"a{n}") for n in range(3)])
        self.assertEqual(len(list(Author.objects.iterator(chunk_size=2))), 3)
