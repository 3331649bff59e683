"""Probing a connection: which of the APIs the app can use answer there, and the protocol
that fits best. Used through chat.services.connections by `manage.py provider_check` and the
admin's check action on connections.

Each probe is one or two cheap calls, never retried, with a short timeout; whatever it
creates (a stored response, a conversation) it deletes again.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from .clients import client_for, default_model
from .errors import ProviderError, provider_errors

PROBE_TIMEOUT = 15.0
PROBE_PROMPT = "Reply with OK."
# The Responses API's smallest allowed output budget.
PROBE_MAX_OUTPUT_TOKENS = 16

# In the order they are printed.
APIS = (
    "models",
    "chat completions",
    "responses",
    "stored responses",
    "conversations",
    "assistants",
    "files",
    "vector stores",
)


@dataclass(frozen=True)
class ApiProbe:
    api: str
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "no"
        return f"{self.api}: {verdict}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class ConnectionProbe:
    probes: tuple[ApiProbe, ...]
    model: str
    # The models GET /models listed, or None where it does not answer.
    models: tuple[str, ...] | None

    def answers(self, api: str) -> bool:
        return any(probe.ok for probe in self.probes if probe.api == api)

    @property
    def any_ok(self) -> bool:
        return any(probe.ok for probe in self.probes)

    @property
    def recommended_protocol(self) -> str:
        """`responses` with conversations where they answer, else with stored responses,
        else `chat_completions`; `assistants` only where nothing else talks; "" for none."""
        if self.answers("responses") and self.answers("conversations"):
            return "responses (thread: conversation)"
        if self.answers("stored responses"):
            return "responses (thread: stored)"
        if self.answers("chat completions"):
            return "chat_completions"
        if self.answers("responses"):
            return "responses (thread: stateless)"
        if self.answers("assistants"):
            return "assistants"
        return ""


async def _try(api: str, call: Callable[[], Awaitable[str]]) -> ApiProbe:
    try:
        async with provider_errors():
            detail = await call()
    except ProviderError as exc:
        return ApiProbe(api, False, str(exc))
    return ApiProbe(api, True, detail)


async def models_list(connection) -> list[str]:
    """The ids GET /models lists (ProviderError where it does not answer): the admin's model
    picker."""
    client = _probe_client(connection)
    async with provider_errors():
        page = await client.models.list()
    return sorted(model.id for model in page.data)


def _probe_client(connection):
    timeout = min(
        settings.PROVIDER_TIMEOUT if connection.timeout is None else connection.timeout,
        PROBE_TIMEOUT,
    )
    return client_for(connection).with_options(max_retries=0, timeout=timeout)


async def connection_probe(connection, *, model: str = "") -> ConnectionProbe:
    """Tries each API on the connection; never raises for a provider failure (a connection
    that cannot even be configured raises ProviderError)."""
    client = _probe_client(connection)
    probes: list[ApiProbe] = []
    listed: list[str] | None = None

    async def list_models() -> str:
        nonlocal listed
        page = await client.models.list()
        listed = sorted(item.id for item in page.data)
        return f"{len(listed)} listed"

    probes.append(await _try("models", list_models))
    if not model:
        try:
            model = default_model(connection)
        except ProviderError:
            model = listed[0] if listed else ""

    async def chat_completions() -> str:
        await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": PROBE_PROMPT}]
        )
        return f"model {model}"

    async def responses() -> str:
        await client.responses.create(
            model=model,
            input=PROBE_PROMPT,
            max_output_tokens=PROBE_MAX_OUTPUT_TOKENS,
            store=False,
        )
        return f"model {model}"

    async def stored_responses() -> str:
        first = await client.responses.create(
            model=model, input=PROBE_PROMPT, max_output_tokens=PROBE_MAX_OUTPUT_TOKENS, store=True
        )
        try:
            await client.responses.create(
                model=model,
                input=PROBE_PROMPT,
                previous_response_id=first.id,
                max_output_tokens=PROBE_MAX_OUTPUT_TOKENS,
                store=False,
            )
        finally:
            try:
                await client.responses.delete(first.id)
            except Exception:  # a leftover probe response is harmless; the verdict stands
                pass
        return "previous_response_id"

    async def conversations() -> str:
        conversation = await client.conversations.create()
        await client.conversations.delete(conversation.id)
        return ""

    async def assistants() -> str:
        await client.beta.assistants.list(limit=1)
        return ""

    async def files() -> str:
        await client.files.list(limit=1)
        return ""

    async def vector_stores() -> str:
        await client.vector_stores.list(limit=1)
        return ""

    model_apis = {
        "chat completions": chat_completions,
        "responses": responses,
        "stored responses": stored_responses,
    }
    for api, call in model_apis.items():
        if model:
            probes.append(await _try(api, call))
        else:
            probes.append(ApiProbe(api, False, "not tried: no model (give one or a default)"))
    for api, call in (
        ("conversations", conversations),
        ("assistants", assistants),
        ("files", files),
        ("vector stores", vector_stores),
    ):
        probes.append(await _try(api, call))
    return ConnectionProbe(tuple(probes), model, None if listed is None else tuple(listed))
