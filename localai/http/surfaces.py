"""The ways the provider is addressed: OpenAI-style, and the two Azure OpenAI styles.

The same views answer on each surface; what differs is authentication, the `api-version`
query parameter, error shapes for those checks, and whether the Assistants API is retired.

- `OPENAI`: `/local/v1/...`, `Authorization: Bearer <key>`, as api.openai.com.
- `AZURE`: `/local/openai/...?api-version=...`, what `AsyncAzureOpenAI(azure_endpoint=
  "<site>/local", api_version=...)` sends: the `api-key` header, or a bearer token
  (tokens.py). `api-version` is required.
- `AZURE_V1`: `/local/openai/v1/...`, Azure's v1 API (an OpenAI client with
  `base_url="<site>/local/openai/v1/"`): the `api-key` header, or a bearer that is the key
  or a token; `api-version` is optional.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Surface:
    name: str
    azure: bool
    requires_api_version: bool

    def assistants_retired(self) -> bool:
        """Read per request, so that a test server's environment decides."""
        if self.azure:
            return settings.LOCAL_PROVIDER_AZURE_ASSISTANTS_RETIRED
        return settings.LOCAL_PROVIDER_ASSISTANTS_RETIRED


OPENAI = Surface("openai", azure=False, requires_api_version=False)
AZURE = Surface("azure", azure=True, requires_api_version=True)
AZURE_V1 = Surface("azure-v1", azure=True, requires_api_version=False)
