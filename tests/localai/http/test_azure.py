"""The Azure-style routes: the paths the AzureOpenAI client builds, `api-version`, the
`api-key` header, Entra ID-like bearer tokens that expire, and the retired Assistants API."""

import asyncio
import time

import httpx2
import openai
import pytest
from azure.identity.aio import get_bearer_token_provider
from django.conf import settings

from localai.engine.model import reply_text
from localai.http.tokens import issue_token, token_status
from tests.azure_credential import COGNITIVE_SCOPE, LocalTokenCredential, expired_token
from tests.localai.sdk import AZURE_API_VERSION, make_azure_client, make_client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DEPLOYMENT = "chat-deployment"
QUERY = f"?api-version={AZURE_API_VERSION}"


def recording_http_client(seen: list[tuple[str, str]]) -> httpx2.AsyncClient:
    async def record(request: httpx2.Request) -> None:
        seen.append((request.method, request.url.raw_path.decode()))

    return httpx2.AsyncClient(event_hooks={"request": [record]})


async def test_the_azure_client_reaches_responses_and_conversations(site_url):
    seen: list[tuple[str, str]] = []
    client = make_azure_client(site_url, http_client=recording_http_client(seen))
    conversation = await client.conversations.create(metadata={"chat": "1"})
    response = await client.responses.create(
        model=DEPLOYMENT, input="Hello Azure", conversation=conversation.id
    )
    assert response.output_text == reply_text("Hello Azure")
    assert response.model == DEPLOYMENT
    async with client.responses.stream(
        model=DEPLOYMENT, input="Streamed", conversation=conversation.id
    ) as stream:
        final = await stream.get_final_response()
    assert final.output_text == reply_text("Streamed")
    items = await client.conversations.items.list(conversation.id)
    assert len(items.data) == 4
    await client.responses.retrieve(response.id)
    await client.conversations.delete(conversation.id)

    # Exactly where the SDK sends them: <endpoint>/openai/<path>?api-version=...
    assert seen == [
        ("POST", f"/local/openai/conversations{QUERY}"),
        ("POST", f"/local/openai/responses{QUERY}"),
        ("POST", f"/local/openai/responses{QUERY}"),
        ("GET", f"/local/openai/conversations/{conversation.id}/items{QUERY}"),
        ("GET", f"/local/openai/responses/{response.id}{QUERY}"),
        ("DELETE", f"/local/openai/conversations/{conversation.id}{QUERY}"),
    ]


async def test_a_client_with_a_deployment_still_reaches_the_same_routes(site_url):
    seen: list[tuple[str, str]] = []
    client = make_azure_client(
        site_url, azure_deployment=DEPLOYMENT, http_client=recording_http_client(seen)
    )
    response = await client.responses.create(model=DEPLOYMENT, input="Deployed")
    assert response.output_text == reply_text("Deployed")
    # Only chat completions, embeddings, audio and images go to /deployments/<name>/.
    assert seen == [("POST", f"/local/openai/responses{QUERY}")]


async def test_api_version_is_required_on_the_dated_routes(site_url):
    headers = {"api-key": settings.LOCAL_PROVIDER_API_KEY}
    body = {"model": DEPLOYMENT, "input": "Hi"}
    async with httpx2.AsyncClient(timeout=10) as http:
        missing = await http.post(f"{site_url}/local/openai/responses", json=body, headers=headers)
        given = await http.post(
            f"{site_url}/local/openai/responses{QUERY}", json=body, headers=headers
        )
        v1 = await http.post(f"{site_url}/local/openai/v1/responses", json=body, headers=headers)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    assert "api-version" in missing.json()["error"]["message"]
    assert given.status_code == 200 and given.json()["status"] == "completed"
    # Azure's v1 API takes no api-version.
    assert v1.status_code == 200


async def test_a_wrong_or_missing_key_is_refused(site_url):
    client = make_azure_client(site_url, api_key="not-the-key")
    with pytest.raises(openai.AuthenticationError) as error:
        await client.responses.create(model=DEPLOYMENT, input="Hi")
    assert error.value.code == "401" and "invalid subscription key" in error.value.message
    async with httpx2.AsyncClient(timeout=10) as http:
        anonymous = await http.get(f"{site_url}/local/openai/conversations/conv_x{QUERY}")
        # The dated routes take the key in `api-key`, not as a bearer token.
        bearer_key = await http.get(
            f"{site_url}/local/openai/conversations/conv_x{QUERY}",
            headers={"Authorization": f"Bearer {settings.LOCAL_PROVIDER_API_KEY}"},
        )
    assert anonymous.status_code == 401
    assert "missing subscription key" in anonymous.json()["error"]["message"]
    assert bearer_key.status_code == 401


async def test_entra_id_tokens_are_refreshed_when_they_expire(site_url):
    credential = LocalTokenCredential(lifetime=2, refresh_after=1.5)
    provider = get_bearer_token_provider(credential, COGNITIVE_SCOPE)
    client = make_azure_client(site_url, azure_ad_token_provider=provider)

    first = await client.responses.create(model=DEPLOYMENT, input="One")
    second = await client.conversations.create()
    assert first.status == "completed" and second.id.startswith("conv_")
    # The token policy reuses a token that is still fresh.
    assert credential.issued_count == 1
    assert credential.scopes == [(COGNITIVE_SCOPE,)]

    first_token = credential.issued[0]
    await asyncio.sleep(max(0.0, first_token.expires_on - time.time()) + 0.05)
    # That token is refused now, so a client holding one token from start-up would fail...
    stale = make_azure_client(site_url, azure_ad_token=first_token.token)
    with pytest.raises(openai.AuthenticationError, match="expired"):
        await stale.responses.create(model=DEPLOYMENT, input="Two")
    # ...while the token provider fetched a new one.
    third = await client.responses.create(model=DEPLOYMENT, input="Two")
    assert third.output_text == reply_text("Two")
    assert credential.issued_count == 2
    assert credential.issued[1].expires_on > first_token.expires_on


async def test_expired_and_forged_tokens_are_refused(site_url):
    expired = make_azure_client(site_url, azure_ad_token=expired_token())
    with pytest.raises(openai.AuthenticationError, match="expired"):
        await expired.conversations.create()
    forged = make_azure_client(
        site_url, azure_ad_token=issue_token(int(time.time()) + 60, key="someone-else")
    )
    with pytest.raises(openai.AuthenticationError, match="invalid") as error:
        await forged.conversations.create()
    assert error.value.status_code == 401


def test_token_format(settings):
    now = 1_800_000_000
    token = issue_token(now + 10)
    prefix, expiry, signature = token.split(".")
    assert (prefix, expiry, len(signature)) == ("localtoken", str(now + 10), 64)
    assert token_status(token, now=now) == "valid"
    assert token_status(token, now=now + 10) == "expired"
    assert token_status(token.replace(str(now + 10), str(now + 99)), now=now) == "invalid"
    assert token_status("localtoken.soon.abc", now=now) == "invalid"
    settings.LOCAL_PROVIDER_API_KEY = ""
    assert token_status(token, now=now) == "invalid"


async def test_the_v1_route_takes_the_key_or_a_token_as_bearer(site_url):
    by_key = openai.AsyncOpenAI(
        base_url=f"{site_url}/local/openai/v1/",
        api_key=settings.LOCAL_PROVIDER_API_KEY,
        max_retries=0,
    )
    assert (await by_key.responses.create(model=DEPLOYMENT, input="Key")).status == "completed"
    credential = LocalTokenCredential(lifetime=60)
    by_token = openai.AsyncOpenAI(
        base_url=f"{site_url}/local/openai/v1/",
        api_key=get_bearer_token_provider(credential, COGNITIVE_SCOPE),
        max_retries=0,
    )
    conversation = await by_token.conversations.create()
    assert conversation.object == "conversation" and credential.issued_count == 1
    with_header = make_azure_client(site_url, base_url=f"{site_url}/local/openai/v1/")
    assert (await with_header.conversations.create()).object == "conversation"


async def test_the_assistants_api_is_gone_on_the_azure_routes(site_url, api_url):
    client = make_azure_client(site_url)
    with pytest.raises(openai.APIStatusError) as error:
        await client.beta.assistants.create(model=DEPLOYMENT, name="Legacy")
    assert error.value.status_code == 410
    assert error.value.code == "Gone"
    assert "Responses API" in error.value.message
    with pytest.raises(openai.APIStatusError) as error:
        await client.beta.threads.create()
    assert error.value.status_code == 410
    # Still served on the OpenAI-style routes, the embedded default's protocol.
    assistant = await make_client(api_url).beta.assistants.create(model=DEPLOYMENT)
    assert assistant.object == "assistant"


async def test_the_retirement_switches_can_be_turned_around(assistants_retired_server):
    site_url = assistants_retired_server.base_url
    openai_style = make_client(f"{site_url}/local/v1")
    with pytest.raises(openai.APIStatusError) as error:
        await openai_style.beta.assistants.list()
    assert (error.value.status_code, error.value.code) == (410, "api_retired")
    assert (await openai_style.responses.create(model="m", input="Hi")).status == "completed"

    # The Azure routes then serve the Assistants API, streamed runs included.
    azure = make_azure_client(site_url)
    assistant = await azure.beta.assistants.create(model=DEPLOYMENT, name="Legacy")
    thread = await azure.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    async with azure.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id
    ) as stream:
        run = await stream.get_final_run()
    assert run.status == "completed"
