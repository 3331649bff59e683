from django.urls import path

from . import views

app_name = "organisation"
urlpatterns = [
    path("usage/", views.my_usage, name="usage"),
]
