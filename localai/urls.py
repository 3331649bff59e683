"""The local provider's API, mounted at /local/ by assistants_site/urls.py.

The same endpoints answer on three surfaces (http/surfaces.py): /local/v1/... (OpenAI-style),
/local/openai/v1/... (Azure's v1 API) and /local/openai/... (Azure with `api-version`,
where `AsyncAzureOpenAI(azure_endpoint="<site>/local")` sends its requests).
"""

from django.urls import include, path, re_path

from localai.assistants_api import urls as assistants_api
from localai.chat_completions_api import urls as chat_completions_api
from localai.files_api import urls as files_api
from localai.http.endpoint import unknown_url
from localai.http.surfaces import AZURE, AZURE_V1, OPENAI, Surface
from localai.models_api import urls as models_api
from localai.responses_api import urls as responses_api

app_name = "localai"


def api_patterns(surface: Surface) -> list:
    return [
        *files_api.patterns(surface),
        *assistants_api.patterns(surface),
        *responses_api.patterns(surface),
        *chat_completions_api.patterns(surface),
        *models_api.patterns(surface),
    ]


urlpatterns = [
    path("v1/", include(api_patterns(OPENAI))),
    path("openai/v1/", include((api_patterns(AZURE_V1), "azure-v1"))),
    path("openai/", include((api_patterns(AZURE), "azure"))),
    # Anything else answers like the real API, in JSON, rather than with the site's 404 page.
    re_path(r"^(?P<path>.*)$", unknown_url, name="unknown"),
]
