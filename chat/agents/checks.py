"""Checking a provider connection: one cheap call that proves it works.

Used through chat.services.providers by `manage.py check_provider` and the admin.
"""

from django.conf import settings

from . import agent_class
from .chat_completions import completion_text
from .clients import client_for, default_model
from .errors import provider_errors
from .responses import response_text

# A check should answer quickly: no retries, and at most this wait.
CHECK_TIMEOUT = 15.0
# The Responses API's smallest allowed output budget; the check spends at most this much.
CHECK_MAX_OUTPUT_TOKENS = 16


async def connection_check(*, connection, protocol: str, model: str, remote_id: str) -> str:
    """What answered, as a phrase; raises ProviderError when the provider fails."""
    cls = agent_class(protocol)  # an unknown protocol is a ProviderError too
    configured = settings.PROVIDER_TIMEOUT if connection.timeout is None else connection.timeout
    timeout = min(configured, CHECK_TIMEOUT)
    client = client_for(connection).with_options(max_retries=0, timeout=timeout)
    if cls.stores_definition:
        # The Assistants API: reading one definition (or listing one) proves the key and that
        # the API still exists there (Azure answers 410 once it is retired).
        async with provider_errors():
            if remote_id:
                remote = await client.beta.assistants.retrieve(remote_id)
                return f"the assistant {remote.id} ({remote.name or 'unnamed'}) is there"
            await client.beta.assistants.list(limit=1)
        return "the Assistants API answers"
    model = model or default_model(connection)
    if protocol == "chat_completions":
        await completion_text(
            client=client,
            model=model,
            input="Reply with OK.",
            max_output_tokens=CHECK_MAX_OUTPUT_TOKENS,
        )
        return f"the model {model!r} answers through the Chat Completions API"
    # Only a response proves that the model (on Azure: the deployment) exists; this one is
    # tiny and not stored.
    await response_text(
        client=client,
        model=model,
        input="Reply with OK.",
        max_output_tokens=CHECK_MAX_OUTPUT_TOKENS,
    )
    return f"the model {model!r} answers through the Responses API"
