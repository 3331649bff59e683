"""/v1/responses: create (streamed, in the background, or answered when done), retrieve,
cancel, delete, and a response's input items."""

from collections.abc import AsyncIterator
from contextlib import aclosing

from django.http import HttpRequest, HttpResponse, JsonResponse

from localai.engine.execution import run_in_background
from localai.engine.faults import answer_request_faults
from localai.engine.model import parse_directives
from localai.http import params
from localai.http.errors import APIError
from localai.http.pagination import paginate
from localai.http.params import read_json
from localai.http.sse import encode, event_stream_response
from localai.models import Item
from localai.responses_api import params as response_params
from localai.responses_api import services
from localai.responses_api.inputs import model_input
from localai.responses_api.objects import item_object, response_deleted_object, response_object
from localai.responses_api.runner import ResponseExecution
from localai.responses_api.selectors import (
    conversation_get,
    conversation_item_bodies,
    response_chain_item_bodies,
    response_get,
    response_output,
)
from localai.tools.code_interpreter import code_interpreter_tools_check


async def _event_stream(execution: ResponseExecution) -> AsyncIterator[bytes]:
    # The Responses API sends no `[DONE]`: the terminal event ends the stream.
    async for event in execution.events():
        yield encode(event["type"], event)
    await services.response_forget_unstored(response=execution.response)


def _flag(body: dict, param: str) -> bool:
    value = body.get(param)
    if value is not None and not isinstance(value, bool):
        raise params.invalid(param, f"Invalid type for '{param}': expected a boolean.")
    return bool(value)


def _number(body: dict, param: str, *, high: float) -> float:
    value = params.optional_number(body, param, low=0.0, high=high)
    return 1.0 if value is None else value


async def _context(body: dict):
    """The conversation (if any) and the item bodies the new input follows."""
    conversation_id = response_params.conversation_id(body)
    previous_id = params.optional_string(body, "previous_response_id")
    if conversation_id and previous_id:
        raise APIError(
            400,
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            param="previous_response_id",
            code="mutually_exclusive_parameters",
        )
    if conversation_id:
        conversation = await conversation_get(conversation_id, param="conversation")
        return conversation, await conversation_item_bodies(conversation)
    if previous_id:
        try:
            previous = await response_get(previous_id)
        except APIError:
            raise APIError(
                400,
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
            ) from None
        return None, await response_chain_item_bodies(previous)
    return None, []


async def response_create(request: HttpRequest) -> HttpResponse:
    body = read_json(request)
    model = params.required_string(body, "model")
    inputs = response_params.input_items(body.get("input"))
    instructions = params.optional_string(body, "instructions")
    stream, background = _flag(body, "stream"), _flag(body, "background")
    if background and body.get("store") is False:
        raise params.invalid("background", "Background mode requires 'store' to be true.")
    fields = {
        "model": model,
        "instructions": instructions,
        "previous_response_id": params.optional_string(body, "previous_response_id"),
        "background": background,
        "store": body.get("store") is not False,
        "tools": response_params.tools(body),
        "tool_choice": response_params.tool_choice(body),
        "metadata": params.metadata(body) or {},
        "temperature": _number(body, "temperature", high=2.0),
        "top_p": _number(body, "top_p", high=1.0),
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "max_output_tokens": response_params.max_output_tokens(body),
        "text": body["text"] if isinstance(body.get("text"), dict) else {},
    }
    await code_interpreter_tools_check(fields["tools"])
    conversation, context = await _context(body)
    wanted = model_input(context, inputs, instructions)
    await answer_request_faults(parse_directives(wanted.text)[1])
    response = await services.response_create(
        conversation=conversation,
        inputs=inputs,
        fields={
            **fields,
            "input_text": wanted.text,
            "tool_outputs": wanted.tool_outputs,
            "prompt_tokens": wanted.prompt_tokens,
        },
    )
    execution = ResponseExecution(
        response, include=response_params.include(body), history=wanted.history
    )
    if stream:
        return event_stream_response(_event_stream(execution))
    if background:
        run_in_background(execution)
        return JsonResponse(response_object(response, []))
    # Answered once done. A client that gives up cancels this view, and so the response.
    async with aclosing(execution.events()) as events:
        async for _ in events:
            pass
    await services.response_forget_unstored(response=response)
    return JsonResponse(response_object(response, execution.output))


async def response_retrieve(request: HttpRequest, response_id: str) -> JsonResponse:
    if request.GET.get("stream") == "true":
        raise params.invalid(
            "stream", "The local provider does not replay the stream of a stored response."
        )
    response = await response_get(response_id)
    return JsonResponse(response_object(response, await response_output(response)))


async def response_delete(request: HttpRequest, response_id: str) -> JsonResponse:
    response = await response_get(response_id)
    await services.response_delete(response=response)
    return JsonResponse(response_deleted_object(response_id))


async def response_cancel(request: HttpRequest, response_id: str) -> JsonResponse:
    response = await services.response_cancel(response=await response_get(response_id))
    return JsonResponse(response_object(response, await response_output(response)))


async def response_input_items(request: HttpRequest, response_id: str) -> JsonResponse:
    response = await response_get(response_id)
    items = Item.objects.filter(response=response, direction="input")
    return JsonResponse(await paginate(items, request, item_object))
