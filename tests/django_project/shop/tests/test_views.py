import os
import urllib.request

from django.test import tag

from shop.models import Author, Book

from .counting import CountedTestCase


class BookPagesTests(CountedTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        authors = [Author.objects.create(name=f"author {n}") for n in range(3)]
        for n in range(5):
            Book.objects.create(title=f"book {n}", author=authors[n % 3])

    def test_home_page_counts_the_books(self) -> None:
        response = self.client.get("/")
        self.assertContains(response, "5 books")

    def test_api_returns_books_with_their_authors_in_one_query(self) -> None:
        response = self.client.get("/api/books/")
        self.assertEqual(len(response.json()["books"]), 5)

    def test_book_list_has_an_n_plus_one_query(self) -> None:
        response = self.client.get("/books/")
        self.assertContains(response, "book 4 by author 1")

    def test_creating_a_book_outside_any_view(self) -> None:
        Book.objects.create(title="new", author=Author.objects.get(name="author 0"))
        self.assertEqual(Book.objects.count(), 6)


class OtherDatabaseTests(CountedTestCase):
    databases = {"default", "other"}

    def setUp(self) -> None:
        super().setUp()
        Author.objects.using("other").create(name="elsewhere")

    def test_queries_on_both_aliases_are_recorded(self) -> None:
        self.assertEqual(Author.objects.using("other").count(), 1)
        self.assertEqual(Author.objects.count(), 0)


@tag("http")
class HttpTests(CountedTestCase):
    def test_a_real_http_call_is_recorded(self) -> None:
        url = os.environ.get("TRIM_HTTP_URL")
        if not url:
            self.skipTest("TRIM_HTTP_URL is not set")
        with urllib.request.urlopen(f"{url}/django") as response:
            self.assertEqual(response.status, 200)
