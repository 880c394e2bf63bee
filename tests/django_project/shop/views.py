from django.http import HttpRequest, HttpResponse, JsonResponse

from .models import Book


def home(request: HttpRequest) -> HttpResponse:
    """A plain page: one query."""
    return HttpResponse(f"{Book.objects.count()} books")


def api_books(request: HttpRequest) -> JsonResponse:
    """An API-style view done right: one query with a join."""
    books = Book.objects.select_related("author").order_by("id")
    return JsonResponse({"books": [{"title": b.title, "author": b.author.name} for b in books]})


def books_n_plus_one(request: HttpRequest) -> HttpResponse:
    """The N+1 pattern: one query for the books, then one per book for its author."""
    books = Book.objects.order_by("id")
    return HttpResponse("\n".join(f"{b.title} by {b.author.name}" for b in books))
