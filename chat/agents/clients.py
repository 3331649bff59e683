"""`AsyncOpenAI` clients for each provider, configured from settings and the environment.

Clients hold a connection pool bound to the event loop that created them, so one client is
kept per provider configuration and per running loop: Daphne's single loop reuses its
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

from .errors import ProviderError

AZURE_TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"


@dataclass(frozen=True)
class ProviderConfig:
    provider: str
    base_url: str
    api_key: str
    organization: str = ""
    api_version: str = ""
    # Dotted path of the Entra ID credential factory (azure without a key), part of the
    # configuration so that a changed factory gets a client of its own.
    credential_factory: str = ""

    @property
    def uses_entra_id(self) -> bool:
        return self.provider == "azure" and not self.api_key


def provider_config(provider: str) -> ProviderConfig:
    """Reads the connection settings of a provider (names as in Semantic Kernel)."""
    env = os.environ
    if provider == "local":
        if not settings.LOCAL_PROVIDER_ENABLED:
            raise ProviderError(
                "The built-in local provider is switched off on this site.", code="disabled"
            )
        return ProviderConfig(
            "local", settings.LOCAL_PROVIDER_BASE_URL, settings.LOCAL_PROVIDER_API_KEY
        )
    if provider == "openai":
        key = env.get("OPENAI_API_KEY", "")
        if not key:
            raise ProviderError("OPENAI_API_KEY is not set on the server.", code="config")
        return ProviderConfig(
            "openai",
            env.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
            key,
            organization=env.get("OPENAI_ORG_ID", ""),
        )
    if provider == "azure":
        endpoint = env.get("AZURE_OPENAI_ENDPOINT", "")
        if not endpoint:
            raise ProviderError("AZURE_OPENAI_ENDPOINT is not set on the server.", code="config")
        key = env.get("AZURE_OPENAI_API_KEY", "")
        return ProviderConfig(
            "azure",
            endpoint,
            key,
            api_version=env.get("AZURE_OPENAI_API_VERSION") or DEFAULT_AZURE_API_VERSION,
            credential_factory="" if key else settings.AZURE_CREDENTIAL_FACTORY,
        )
    raise ProviderError(f"Unknown provider {provider!r}.", code="config")


def default_model(provider: str) -> str:
    """The model of an assistant whose model is left blank (on Azure: the deployment)."""
    if provider == "local":
        return settings.LOCAL_PROVIDER_MODEL
    variable = {
        "openai": "OPENAI_CHAT_MODEL_ID",
        "azure": "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME",
    }.get(provider)
    model = os.environ.get(variable, "") if variable else ""
    if not model:
        raise ProviderError(
            f"This assistant has no model and {variable or 'no default'} is not set on the "
            "server. Enter a model (on Azure: the deployment name).",
            code="config",
        )
    return model


def _timeout() -> httpx2.Timeout:
    # The read timeout bounds the silence between two chunks of a stream, so a hung provider
    # fails the turn instead of holding it forever.
    return httpx2.Timeout(settings.PROVIDER_TIMEOUT, connect=10.0)


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


def _azure_token_provider(factory: str = ""):
    from azure.core.exceptions import AzureError
    from azure.identity.aio import get_bearer_token_provider

    # Called before every request: the policy behind it caches the token and asks the
    # credential for a new one shortly before it expires, so a long-running site never sends
    # an expired token.
    bearer_token = get_bearer_token_provider(azure_credential(factory), AZURE_TOKEN_SCOPE)

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
                "AZURE_CLIENT_SECRET, az login) or set AZURE_OPENAI_API_KEY.",
                code="auth",
            ) from exc

    return token


def build_client(config: ProviderConfig, *, azure_token_provider=None) -> openai.AsyncOpenAI:
    common = {"timeout": _timeout(), "max_retries": settings.PROVIDER_MAX_RETRIES}
    if config.provider == "azure":
        if config.uses_entra_id:
            return openai.AsyncAzureOpenAI(
                azure_endpoint=config.base_url,
                api_version=config.api_version,
                azure_ad_token_provider=azure_token_provider
                or _azure_token_provider(config.credential_factory),
                **common,
            )
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.base_url,
            api_key=config.api_key,
            api_version=config.api_version,
            **common,
        )
    return openai.AsyncOpenAI(
        base_url=config.base_url,
        api_key=config.api_key,
        organization=config.organization or None,
        **common,
    )


_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


def client_for(provider: str) -> openai.AsyncOpenAI:
    """The shared client of this provider for the running event loop."""
    config = provider_config(provider)
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(config)
    if client is None:
        client = per_loop[config] = build_client(config)
    return client
