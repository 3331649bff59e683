from django.urls import path

from . import file_views, views

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
    path("api/uploads/", file_views.api_upload_create, name="api_uploads"),
    path("api/uploads/<int:pk>/", file_views.api_upload_delete, name="api_upload"),
    path("files/<int:pk>/", file_views.upload_file, name="upload_file"),
    path("files/knowledge/<int:pk>/", file_views.knowledge_file, name="knowledge_file"),
    path("outputs/<int:pk>/", file_views.output_file, name="output_file"),
]
