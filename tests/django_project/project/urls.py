from django.urls import path
from shop import views

urlpatterns = [
    path("", views.home),
    path("api/books/", views.api_books),
    path("books/", views.books_n_plus_one),
]
