from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.OrderList.as_view(), name="order-list"),
    path("orders/naive/", views.NaiveOrderList.as_view(), name="order-list-naive"),
    path("orders/<int:pk>/", views.OrderDetail.as_view(), name="order-detail"),
    path("orders/<int:pk>/shipping-quote/", views.ShippingQuote.as_view(), name="shipping-quote"),
]
