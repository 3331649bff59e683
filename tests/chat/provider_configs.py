"""The provider configurations the app is tested with, all served by the local provider.

- `local`: the built-in provider (LOCAL_PROVIDER_BASE_URL).
- `openai`: OPENAI_BASE_URL + OPENAI_API_KEY pointing at its OpenAI-style routes.
- `azure-key`: AZURE_OPENAI_ENDPOINT + AZURE_OPENAI_API_KEY (the `api-key` header).
- `azure-entra`: no key, so Microsoft Entra ID: AZURE_CREDENTIAL_FACTORY names a test
  credential whose tokens live two seconds; the provider refuses expired ones.
- `foundry`: an Azure AI Foundry project connection (kind `foundry`, not seeded), its key in
  FOUNDRY_PROJECT_API_KEY: the OpenAI v1 API under `<endpoint>/openai/v1/`, the `api-key`
  header, no api-version. Only the protocol grid (test_protocols.py) runs it.

The Azure configurations (Foundry's too) talk to a site whose local provider still serves
the Assistants API on its Azure routes (`assistants_retired_server`), so every protocol runs
on them; the default site answers 410 there, as Azure does (test_provider_errors.py).
"""

from dataclasses import dataclass

from azure.core.exceptions import ClientAuthenticationError
from django.conf import settings

from chat.models import Connection
from tests.azure_credential import LocalTokenCredential
from tests.chat.connections import seed_connection

CONFIGS = ["local", "openai", "azure-key", "azure-entra"]
# The agent-layer grid also runs a Foundry project; the chat tests use seeded connections.
GRID_CONFIGS = [*CONFIGS, "foundry"]
DEPLOYMENT = "chat-deployment"
FOUNDRY_KEY_VARIABLE = "FOUNDRY_PROJECT_API_KEY"
TOKEN_LIFETIME = 2.0

# Credentials the Entra ID factory handed out, newest last, so tests can look at them.
issued_credentials: list[LocalTokenCredential] = []


def short_lived_credential() -> LocalTokenCredential:
    """AZURE_CREDENTIAL_FACTORY in the `azure-entra` configuration."""
    credential = LocalTokenCredential(lifetime=TOKEN_LIFETIME)
    issued_credentials.append(credential)
    return credential


class UnavailableCredential:
    """What DefaultAzureCredential does on a server with no identity to sign in with."""

    async def get_token(self, *scopes, **kwargs):
        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials."
            "\nAttempted credentials:\n\tEnvironmentCredential: unavailable."
        )

    get_token_info = get_token

    async def close(self):
        pass


@dataclass(frozen=True)
class Configured:
    name: str
    provider: str
    site_url: str

    @property
    def connection(self) -> Connection:
        """The seeded connection of this provider (Foundry's: one as an admin would enter
        it), unsaved (for the agent layer)."""
        if self.provider == "foundry":
            return Connection(
                name="foundry",
                kind="foundry",
                # A project endpoint: the client adds /openai/v1/ (the Azure v1 routes).
                base_url=f"{self.site_url}/local",
                auth="api_key",
                api_key_env=FOUNDRY_KEY_VARIABLE,
                default_model=DEPLOYMENT,
            )
        return seed_connection(self.provider)

    @property
    def model(self) -> str:
        if self.provider in ("azure", "foundry"):
            return DEPLOYMENT
        return settings.LOCAL_PROVIDER_MODEL


def serving_site(request, name: str):
    """The site whose local provider a configuration talks to: the Azure kinds go to the
    one that still serves the Assistants API on its Azure routes."""
    if name.startswith("azure") or name == "foundry":
        return request.getfixturevalue("assistants_retired_server")
    return request.getfixturevalue("site_server")


def configure(name: str, *, site_url: str, monkeypatch, settings) -> Configured:
    """Points the app (environment and settings) at the local provider of `site_url`."""
    for variable in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "OPENAI_CHAT_MODEL_ID",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_API_VERSION",
        "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
        FOUNDRY_KEY_VARIABLE,
    ):
        monkeypatch.delenv(variable, raising=False)
    key = settings.LOCAL_PROVIDER_API_KEY
    settings.LOCAL_PROVIDER_BASE_URL = f"{site_url}/local/v1"
    if name == "local":
        return Configured(name, "local", site_url)
    if name == "openai":
        monkeypatch.setenv("OPENAI_BASE_URL", f"{site_url}/local/v1")
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_CHAT_MODEL_ID", settings.LOCAL_PROVIDER_MODEL)
        return Configured(name, "openai", site_url)
    if name == "foundry":
        monkeypatch.setenv(FOUNDRY_KEY_VARIABLE, key)
        return Configured(name, "foundry", site_url)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{site_url}/local")
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2025-04-01-preview")
    monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME", DEPLOYMENT)
    if name == "azure-key":
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", key)
    elif name == "azure-entra":
        settings.AZURE_CREDENTIAL_FACTORY = f"{__name__}.short_lived_credential"
    else:
        raise ValueError(name)
    return Configured(name, "azure", site_url)
