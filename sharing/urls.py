from django.urls import path

# The `id` path converter (chat.ids.IdConverter) is registered by chat.urls; importing it
# first keeps this module usable whatever the order of the root URLconf.
from chat import urls as _chat_urls  # noqa: F401

from . import views

app_name = "sharing"
urlpatterns = [
    path("c/<id:pk>/export.md", views.export_markdown, name="export_markdown"),
    path("c/<id:pk>/export.json", views.export_json, name="export_json"),
    path("api/conversations/<id:pk>/share", views.api_share, name="api_share"),
    path(
        "api/conversations/<id:pk>/share/revoke",
        views.api_share_revoke,
        name="api_share_revoke",
    ),
    path("s/<slug:token>/", views.shared_page, name="shared_page"),
    path(
        "s/<slug:token>/files/<str:kind>/<id:pk>/",
        views.shared_file,
        name="shared_file",
    ),
]
