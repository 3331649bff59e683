"""`AsyncOpenAI` clients built from provider connections (`chat.models.Connection`).

A connection's blank fields fall back to the environment at run time (the names of Semantic
Kernel: OPENAI_*, AZURE_OPENAI_*), so the seeded `openai`, `azure` and `local` connections
behave as the settings did before connections existed.

Clients hold a connection pool bound to the event loop that created them, so one client is
kept per connection configuration and per running loop: Daphne's single loop reuses its
connections, and code run through `async_to_sync` gets a client of its own loop.
"""

import asyncio
import os
import weakref
from dataclasses import dataclass

import httpx2
import openai
from django.conf import settings
from django.utils.module_loading import import_string

from chat.encryption import SecretUnreadable

from .errors import ProviderError

AZURE_TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"
# Foundry project endpoints take tokens for the Foundry audience (as azure-ai-projects asks).
FOUNDRY_TOKEN_SCOPE = "https://ai.azure.com/.default"
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
OPENAI_BASE_URL = "https://api.openai.com/v1"
# Where a blank field of a connection is read from, by kind.
BASE_URL_VARIABLES = {"openai": "OPENAI_BASE_URL", "azure": "AZURE_OPENAI_ENDPOINT"}
MODEL_VARIABLES = {"openai": "OPENAI_CHAT_MODEL_ID", "azure": "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME"}
# The bearer an `openai` connection sends to a server without authentication.
NO_API_KEY = "no-key"


@dataclass(frozen=True)
class ProviderConfig:
    kind: str
    base_url: str
    api_key: str
    organization: str = ""
    api_version: str = ""
    # Dotted path of the Entra ID credential factory (Azure kinds without a key), part of
    # the configuration so that a changed factory gets a client of its own.
    credential_factory: str = ""
    uses_entra_id: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 60.0
    max_retries: int = 2
    # The connection's name, for messages.
    name: str = ""


def _api_key(connection) -> str:
    try:
        stored = connection.stored_api_key()
    except SecretUnreadable as exc:
        raise ProviderError(f"Connection {connection.name!r}: {exc}", code="config") from None
    if stored:
        return stored
    return os.environ.get(connection.api_key_env, "") if connection.api_key_env else ""


def _base_url(connection) -> str:
    if connection.base_url:
        return connection.base_url
    if connection.kind == "local":
        return settings.LOCAL_PROVIDER_BASE_URL
    variable = BASE_URL_VARIABLES.get(connection.kind)
    url = os.environ.get(variable, "") if variable else ""
    if url:
        return url
    if connection.kind == "openai":
        return OPENAI_BASE_URL
    raise ProviderError(
        f"Connection {connection.name!r} has no base URL"
        + (f" and {variable} is not set on the server." if variable else "."),
        code="config",
    )


def _foundry_v1_url(endpoint: str) -> str:
    """A Foundry project endpoint (…/api/projects/<project>) speaks the OpenAI v1 API under
    /openai/v1/; an endpoint given with that path already is taken as it is."""
    endpoint = endpoint.rstrip("/")
    if endpoint.endswith("/openai/v1"):
        return f"{endpoint}/"
    return f"{endpoint}/openai/v1/"


def _no_api_key(connection) -> ProviderError:
    variable = connection.api_key_env
    return ProviderError(
        f"Connection {connection.name!r} has no API key"
        + (f": {variable} is not set on the server." if variable else "."),
        code="config",
    )


def provider_config(connection) -> ProviderConfig:
    """Reads a connection (a `chat.models.Connection`, loaded already: no query here)."""
    kind = connection.kind
    try:
        headers = tuple(sorted(connection.header_values().items()))
    except SecretUnreadable as exc:
        raise ProviderError(f"Connection {connection.name!r}: {exc}", code="config") from None
    common = {
        "name": connection.name,
        "headers": headers,
        "timeout": settings.PROVIDER_TIMEOUT if connection.timeout is None else connection.timeout,
        "max_retries": (
            settings.PROVIDER_MAX_RETRIES
            if connection.max_retries is None
            else connection.max_retries
        ),
    }
    if kind == "local":
        if not settings.LOCAL_PROVIDER_ENABLED:
            raise ProviderError(
                "The built-in local provider is switched off on this site.", code="disabled"
            )
        return ProviderConfig(
            "local",
            _base_url(connection),
            _api_key(connection) or settings.LOCAL_PROVIDER_API_KEY,
            **common,
        )
    if kind == "openai":
        key = _api_key(connection)
        if not key and connection.base_url and not connection.api_key_env:
            # A server of its own with no key anywhere (llama.cpp, Ollama, vLLM run without
            # one) takes requests unauthenticated; the SDK insists on a key, and such a
            # server ignores the one it sends. A named variable that is unset stays an error.
            key = NO_API_KEY
        if not key:
            raise _no_api_key(connection)
        return ProviderConfig(
            "openai",
            _base_url(connection),
            key,
            # OPENAI_ORG_ID belongs with OPENAI_API_KEY: only a connection reading that key.
            organization=(
                os.environ.get("OPENAI_ORG_ID", "")
                if connection.api_key_env == "OPENAI_API_KEY"
                else ""
            ),
            **common,
        )
    if kind in ("azure", "foundry"):
        endpoint = _base_url(connection)
        auth = connection.auth
        key = "" if auth == "entra_id" else _api_key(connection)
        if auth == "api_key" and not key:
            raise _no_api_key(connection)
        entra_id = not key
        return ProviderConfig(
            kind,
            _foundry_v1_url(endpoint) if kind == "foundry" else endpoint,
            key,
            api_version=(
                ""
                if kind == "foundry"
                else connection.api_version
                or os.environ.get("AZURE_OPENAI_API_VERSION")
                or DEFAULT_AZURE_API_VERSION
            ),
            credential_factory=settings.AZURE_CREDENTIAL_FACTORY if entra_id else "",
            uses_entra_id=entra_id,
            **common,
        )
    raise ProviderError(f"Unknown kind of connection {kind!r}.", code="config")


def default_model(connection) -> str:
    """The model of an assistant whose model is left blank (on Azure: the deployment)."""
    if connection.default_model:
        return connection.default_model
    if connection.kind == "local":
        return settings.LOCAL_PROVIDER_MODEL
    variable = MODEL_VARIABLES.get(connection.kind)
    model = os.environ.get(variable, "") if variable else ""
    if not model:
        where = f"{variable} is not set on the server" if variable else "it has no default model"
        raise ProviderError(
            f"This assistant has no model, and its connection {connection.name!r} has no "
            f"default model ({where}). Enter a model (on Azure: the deployment name).",
            code="config",
        )
    return model


def _timeout(seconds: float) -> httpx2.Timeout:
    # The read timeout bounds the silence between two chunks of a stream, so a hung provider
    # fails the turn instead of holding it forever.
    return httpx2.Timeout(seconds, connect=min(seconds, 10.0))


def azure_credential(factory: str = ""):
    """The async Entra ID credential: `DefaultAzureCredential`, unless settings name another
    factory (AZURE_CREDENTIAL_FACTORY, a dotted path; tests use a fake identity)."""
    if factory:
        try:
            return import_string(factory)()
        except ImportError as exc:
            raise ProviderError(
                f"AZURE_CREDENTIAL_FACTORY ({factory}) cannot be imported: {exc}", code="config"
            ) from exc
    # Imported lazily: only Entra ID deployments pay for azure-identity's import time.
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()


def _azure_token_provider(factory: str = "", scope: str = AZURE_TOKEN_SCOPE):
    from azure.core.exceptions import AzureError
    from azure.identity.aio import get_bearer_token_provider

    # Called before every request: the policy behind it caches the token and asks the
    # credential for a new one shortly before it expires, so a long-running site never sends
    # an expired token.
    bearer_token = get_bearer_token_provider(azure_credential(factory), scope)

    async def token() -> str:
        try:
            return await bearer_token()
        except AzureError as exc:
            # Raised before any request, so the SDK does not wrap it: make it readable here.
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ProviderError(
                f"Could not get a Microsoft Entra ID token for Azure OpenAI: {reason.rstrip('.')}. "
                "Sign the "
                "server's identity in (managed identity, AZURE_CLIENT_ID/AZURE_TENANT_ID/"
                "AZURE_CLIENT_SECRET, az login) or give the connection an API key (e.g. "
                "AZURE_OPENAI_API_KEY).",
                code="auth",
            ) from exc

    return token


def build_client(config: ProviderConfig, *, azure_token_provider=None) -> openai.AsyncOpenAI:
    common = {
        "timeout": _timeout(config.timeout),
        "max_retries": config.max_retries,
        "default_headers": dict(config.headers) or None,
    }
    token_provider = None
    if config.uses_entra_id:
        scope = FOUNDRY_TOKEN_SCOPE if config.kind == "foundry" else AZURE_TOKEN_SCOPE
        token_provider = azure_token_provider or _azure_token_provider(
            config.credential_factory, scope
        )
    if config.kind == "azure":
        # An Azure OpenAI resource: the dated API (<endpoint>/openai/...?api-version=).
        if token_provider:
            return openai.AsyncAzureOpenAI(
                azure_endpoint=config.base_url,
                api_version=config.api_version,
                azure_ad_token_provider=token_provider,
                **common,
            )
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.base_url,
            api_key=config.api_key,
            api_version=config.api_version,
            **common,
        )
    if config.kind == "foundry":
        # A Foundry project: the OpenAI v1 API under the project, no api-version. The SDK
        # calls a callable api_key before each request and sends it as the bearer token.
        # A key goes in Azure's `api-key` header (the bearer carries it too: the SDK insists
        # on one, and Azure's v1 API takes a key there as well).
        if token_provider:
            return openai.AsyncOpenAI(base_url=config.base_url, api_key=token_provider, **common)
        headers = {**dict(config.headers), "api-key": config.api_key}
        return openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            **{**common, "default_headers": headers},
        )
    return openai.AsyncOpenAI(
        base_url=config.base_url,
        api_key=config.api_key,
        organization=config.organization or None,
        **common,
    )


_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def client_for(connection) -> openai.AsyncOpenAI:
    """The shared client of this connection (a loaded `Connection`) for the running loop."""
    config = provider_config(connection)
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(config)
    if client is None:
        client = per_loop[config] = build_client(config)
    return client
