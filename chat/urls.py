from django.urls import path

from . import views

app_name = "chat"
urlpatterns = [
    path("", views.index, name="index"),
    path("c/<int:pk>/", views.conversation_detail, name="conversation"),
    path("api/conversations/", views.api_conversations, name="api_conversations"),
    path(
        "api/conversations/<int:pk>/rename",
        views.api_conversation_rename,
        name="api_conversation_rename",
    ),
    path(
        "api/conversations/<int:pk>/pin",
        views.api_conversation_pin,
        name="api_conversation_pin",
    ),
    path(
        "api/conversations/<int:pk>/delete",
        views.api_conversation_delete,
        name="api_conversation_delete",
    ),
]
