from shop.models import Author, Book

from .counting import CountedTestCase


class IteratorTests(CountedTestCase):
    """QuerySet.iterator() reads through a server-side (named) cursor on PostgreSQL."""

    @classmethod
    def setUpTestData(cls) -> None:
        author = Author.objects.create(name="prolific")
        Book.objects.bulk_create(Book(title=f"book {n}", author=author) for n in range(7))

    def test_iterating_a_queryset_in_chunks(self) -> None:
        titles = [book.title for book in Book.objects.order_by("id").iterator(chunk_size=3)]
        self.assertEqual(len(titles), 7)

    def test_two_iterators_and_a_plain_query(self) -> None:
        self.assertEqual(sum(1 for _ in Author.objects.iterator()), 1)
        self.assertEqual(
            sum(1 for _ in Book.objects.filter(title__startswith="book").iterator()), 7
        )
        self.assertEqual(Book.objects.count(), 7)
