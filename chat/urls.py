from django.urls import path, register_converter

from . import file_views, views
from .ids import IdConverter

register_converter(IdConverter, "id")

app_name = "chat"
urlpatterns = [
    path("", views.index, name="index"),
    path("c/<id:pk>/", views.conversation_detail, name="conversation"),
    path("api/conversations/", views.api_conversations, name="api_conversations"),
    path(
        "api/conversations/<id:pk>/messages",
        views.api_conversation_messages,
        name="api_conversation_messages",
    ),
    path(
        "api/conversations/<id:pk>/rename",
        views.api_conversation_rename,
        name="api_conversation_rename",
    ),
    path(
        "api/conversations/<id:pk>/pin",
        views.api_conversation_pin,
        name="api_conversation_pin",
    ),
    path(
        "api/conversations/<id:pk>/delete",
        views.api_conversation_delete,
        name="api_conversation_delete",
    ),
    path(
        "api/conversations/<id:pk>/restore",
        views.api_conversation_restore,
        name="api_conversation_restore",
    ),
    path("api/uploads/", file_views.api_upload_create, name="api_uploads"),
    path("api/uploads/<id:pk>/", file_views.api_upload_delete, name="api_upload"),
    path("files/<id:pk>/", file_views.upload_file, name="upload_file"),
    path("files/knowledge/<id:pk>/", file_views.knowledge_file, name="knowledge_file"),
    path("outputs/<id:pk>/", file_views.output_file, name="output_file"),
]
