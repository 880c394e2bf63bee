from django.contrib import admin

from .models import Order, OrderItem


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "status", "shipping_country", "created_at"]
    list_filter = ["status"]
    list_select_related = ["customer"]
    inlines = [OrderItemInline]
