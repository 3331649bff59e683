"""/v1/chat/completions: create, streamed or answered when done."""

from collections.abc import AsyncIterator
from contextlib import aclosing

from django.http import HttpRequest, HttpResponse, JsonResponse

from localai.chat_completions_api.inputs import model_input
from localai.chat_completions_api.params import completion_request
from localai.chat_completions_api.runner import ChatCompletionExecution
from localai.engine.faults import answer_request_faults
from localai.engine.model import parse_directives
from localai.http.errors import APIError
from localai.http.params import read_json
from localai.http.sse import DATA_DONE, encode_data, event_stream_response


async def _event_stream(execution: ChatCompletionExecution) -> AsyncIterator[bytes]:
    async with aclosing(execution.events()) as events:
        async for chunk in events:
            yield encode_data(chunk)
    # A stream cut or failed part-way ends without it.
    if execution.outcome == "completed":
        yield DATA_DONE


async def completion_create(request: HttpRequest) -> HttpResponse:
    return await _create(read_json(request))


async def deployment_completion_create(request: HttpRequest, deployment: str) -> HttpResponse:
    """Azure's route: the deployment names the model when the body does not."""
    body = read_json(request)
    body.setdefault("model", deployment)
    return await _create(body)


async def _create(body: dict) -> HttpResponse:
    completion = completion_request(body)
    wanted = model_input(completion.messages)
    await answer_request_faults(parse_directives(wanted.text)[1])
    execution = ChatCompletionExecution(completion, wanted)
    if completion.stream:
        return event_stream_response(_event_stream(execution))
    async with aclosing(execution.events()) as events:
        async for _ in events:
            pass
    if execution.outcome != "completed":
        # A cut or failed stream, answered without one: the server failed.
        raise APIError(500, execution.error, type="server_error", code="server_error")
    return JsonResponse(execution.completion_body())
