"""The Models API's URLs, on one surface."""

from functools import partial

from django.urls import path

from localai.http.endpoint import endpoint
from localai.http.surfaces import Surface
from localai.models_api import views


def patterns(surface: Surface) -> list:
    api = partial(endpoint, surface=surface, protocol="models")
    return [
        path("models", api(GET=views.model_list), name="models"),
        # Model ids may hold slashes and dots ("org/model-1.5").
        path("models/<path:model_id>", api(GET=views.model_retrieve), name="model"),
    ]
