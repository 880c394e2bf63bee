from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=2&page_size=5``; the page size is capped so a client cannot ask for everything."""

    page_size_query_param = "page_size"
    max_page_size = 50
