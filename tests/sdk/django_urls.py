"""URLconf of the Django test app (tests.sdk.apps.django_app)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path


def order(request: HttpRequest, order_id: int) -> JsonResponse:
    return JsonResponse({"id": order_id})


urlpatterns = [path("orders/<int:order_id>", order)]
