from django.urls import path

from . import views

app_name = "sso"
urlpatterns = [
    path("start/", views.SSOStartView.as_view(), name="start"),
    path("callback/", views.SSOCallbackView.as_view(), name="callback"),
]
