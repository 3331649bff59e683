from django.urls import path

app_name = "localai"
urlpatterns: list = []
