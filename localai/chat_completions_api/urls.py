"""The Chat Completions API's URLs, on one surface.

Azure's deployment-scoped route (`/openai/deployments/<name>/chat/completions`, where
`AsyncAzureOpenAI(azure_deployment=...)` or a `model` sends it) answers too; the deployment
name is the model.
"""

from functools import partial

from django.urls import path

from localai.chat_completions_api import views
from localai.http.endpoint import endpoint
from localai.http.surfaces import Surface


def patterns(surface: Surface) -> list:
    api = partial(endpoint, surface=surface, protocol="chat_completions")
    routes = [
        path("chat/completions", api(POST=views.completion_create), name="chat-completions"),
    ]
    if surface.azure:
        routes.append(
            path(
                "deployments/<str:deployment>/chat/completions",
                api(POST=views.deployment_completion_create),
                name="deployment-chat-completions",
            )
        )
    return routes
