from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Me(APIView):
    """The signed-in user and how many orders they placed."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                "username": user.username,
                "email": user.email,
                "date_joined": user.date_joined,
                "order_count": user.orders.count(),
            }
        )
