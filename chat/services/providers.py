"""Checking a provider connection: one cheap call, and a readable verdict.

Used by `manage.py check_provider` and the admin's "Check provider connection" action.
"""

from dataclasses import dataclass

import openai
from asgiref.sync import async_to_sync
from django.conf import settings

from chat.agents import ProviderError, agent_class, client_for
from chat.agents.clients import default_model, provider_config
from chat.agents.errors import provider_error_from
from chat.models import Assistant

# A check should answer quickly: no retries, and at most this wait.
CHECK_TIMEOUT = 15.0
# The Responses API's smallest allowed output budget; the check spends at most this much.
CHECK_MAX_OUTPUT_TOKENS = 16


@dataclass(frozen=True)
class ProviderCheck:
    ok: bool
    message: str
    code: str = ""


HINTS = {
    "auth": "Check the API key (OPENAI_API_KEY, AZURE_OPENAI_API_KEY) or, with Entra ID, that "
    "the identity has the 'Cognitive Services OpenAI User' role.",
    "unreachable": "Check the endpoint (OPENAI_BASE_URL, AZURE_OPENAI_ENDPOINT) and the network.",
    "timeout": "The endpoint did not answer in time; check it and the network.",
}


def _where(provider: str) -> str:
    try:
        return provider_config(provider).base_url
    except ProviderError:
        return provider


async def _check(*, provider: str, protocol: str, model: str, remote_id: str) -> str:
    cls = agent_class(protocol)  # an unknown protocol is a ProviderError too
    timeout = min(settings.PROVIDER_TIMEOUT, CHECK_TIMEOUT)
    client = client_for(provider).with_options(max_retries=0, timeout=timeout)
    if cls.stores_definition:
        # The Assistants API: reading one definition (or listing one) proves the key and that
        # the API still exists there (Azure answers 410 once it is retired).
        if remote_id:
            remote = await client.beta.assistants.retrieve(remote_id)
            return f"the assistant {remote.id} ({remote.name or 'unnamed'}) is there"
        await client.beta.assistants.list(limit=1)
        return "the Assistants API answers"
    model = model or default_model(provider)
    # Only a response proves that the model (on Azure: the deployment) exists; this one is
    # tiny and not stored.
    await client.responses.create(
        model=model,
        input="Reply with OK.",
        max_output_tokens=CHECK_MAX_OUTPUT_TOKENS,
        store=False,
    )
    return f"the model {model!r} answers through the Responses API"


def provider_check(
    *, provider: str, protocol: str, model: str = "", remote_id: str = ""
) -> ProviderCheck:
    """Makes one cheap call to the provider; never raises for a provider problem."""
    try:
        detail = async_to_sync(_check)(
            provider=provider, protocol=protocol, model=model, remote_id=remote_id
        )
    except (ProviderError, openai.OpenAIError) as exc:
        error = provider_error_from(exc)
        message = str(error)
        if error.code == "not_found" and protocol == "responses":
            message = (
                f"{message} The model or Azure deployment {model or '(default)'!r} is probably "
                "unknown there."
            )
        elif error.code in HINTS:
            message = f"{message} {HINTS[error.code]}"
        return ProviderCheck(
            False, f"{provider} ({protocol}) at {_where(provider)}: {message}", error.code
        )
    return ProviderCheck(True, f"{provider} ({protocol}) at {_where(provider)}: OK, {detail}.")


def provider_check_assistant(*, assistant: Assistant) -> ProviderCheck:
    return provider_check(
        provider=assistant.provider,
        protocol=assistant.protocol,
        model=assistant.model,
        remote_id=assistant.remote_id,
    )
