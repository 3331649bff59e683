from django.urls import path

# The `id` path converter (chat.ids.IdConverter) is registered by chat.urls.
from chat import urls as _chat_urls  # noqa: F401

from . import views

app_name = "feedback"
urlpatterns = [
    path("api/messages/<id:pk>/feedback", views.api_feedback_set, name="api_feedback_set"),
    path("api/feedback/", views.api_feedback_list, name="api_feedback_list"),
]
