"""/v1/threads/{thread_id}/runs: create (streamed or not), list, retrieve, update, cancel,
submit tool outputs, and the run's steps."""

from collections.abc import AsyncIterator

from django.http import HttpRequest, HttpResponse, JsonResponse

from localai.assistants_api import params as assistant_params
from localai.assistants_api import services
from localai.assistants_api.objects import run_object, run_step_object
from localai.assistants_api.runner import RunExecution
from localai.assistants_api.selectors import (
    assistant_get,
    run_get,
    run_step_get,
    thread_get,
    thread_last_user_text,
)
from localai.engine.execution import run_in_background
from localai.engine.faults import answer_request_faults
from localai.engine.model import parse_directives
from localai.http import params
from localai.http.pagination import paginate
from localai.http.params import read_json
from localai.http.sse import DONE, encode, event_stream_response
from localai.models import Assistant, Run, RunStep
from localai.tools.code_interpreter import code_interpreter_check

# The SDK's poll helpers wait this long between retrieves instead of their default second.
POLL_AFTER_MS = "100"


def _run_response(run: Run, thread_id: str) -> JsonResponse:
    return JsonResponse(run_object(run, thread_id), headers={"openai-poll-after-ms": POLL_AFTER_MS})


async def _event_stream(execution: RunExecution) -> AsyncIterator[bytes]:
    async for name, data in execution.events():
        yield encode(name, data)
    if not execution.cut:
        yield DONE


def _start(execution: RunExecution, *, stream: bool) -> HttpResponse:
    if stream:
        return event_stream_response(_event_stream(execution))
    run_in_background(execution)
    return _run_response(execution.run, execution.thread_id)


def _run_options(body: dict, assistant: Assistant) -> dict:
    """The run's own values: the request's, falling back to the assistant's."""
    instructions = params.optional_string(body, "instructions")
    if instructions is None:
        instructions = assistant.instructions or ""
    additional = params.optional_string(body, "additional_instructions")
    if additional:
        instructions = f"{instructions}\n\n{additional}" if instructions else additional
    tools = assistant_params.tools(body)
    temperature = params.optional_number(body, "temperature", low=0.0, high=2.0)
    top_p = params.optional_number(body, "top_p", low=0.0, high=1.0)
    limits = {}
    for name in ("max_prompt_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise params.invalid(name, f"Invalid '{name}': expected a positive integer.")
        limits[name] = value
    return {
        "model": params.optional_string(body, "model") or assistant.model,
        "instructions": instructions,
        "tools": assistant.tools if tools is None else tools,
        "tool_choice": assistant_params.tool_choice(body) or "auto",
        "metadata": params.metadata(body) or {},
        "temperature": assistant.temperature if temperature is None else temperature,
        "top_p": assistant.top_p if top_p is None else top_p,
        "response_format": body.get("response_format") or assistant.response_format,
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "truncation_strategy": body.get("truncation_strategy")
        or {"type": "auto", "last_messages": None},
        **limits,
    }


async def run_create(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = await thread_get(thread_id)
    body = read_json(request)
    assistant = await assistant_get(
        params.required_string(body, "assistant_id"), param="assistant_id"
    )
    additional_messages = assistant_params.message_list(body, "additional_messages")
    options = _run_options(body, assistant)
    code_interpreter_check(tools=options["tools"])
    user_messages = [fields for fields in additional_messages if fields["role"] == "user"]
    if user_messages:
        input_text = "\n".join(
            block["text"]["value"]
            for block in user_messages[-1]["content"]
            if block["type"] == "text"
        )
    else:
        input_text = await thread_last_user_text(thread)
    await answer_request_faults(parse_directives(input_text)[1])
    run = await services.run_create(
        thread=thread,
        assistant=assistant,
        options=options,
        additional_messages=additional_messages,
        input_text=input_text,
    )
    execution = RunExecution(run, thread.public_id, include=_include(request))
    return _start(execution, stream=bool(body.get("stream")))


def _include(request: HttpRequest) -> tuple[str, ...]:
    # The SDK sends `include[]=...`; a plain `include=...` is taken too.
    return (*request.GET.getlist("include[]"), *request.GET.getlist("include"))


async def run_list(request: HttpRequest, thread_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    page = await paginate(
        Run.objects.filter(thread=thread), request, lambda run: run_object(run, thread.public_id)
    )
    return JsonResponse(page)


async def run_retrieve(request: HttpRequest, thread_id: str, run_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    return _run_response(await run_get(thread, run_id), thread.public_id)


async def run_update(request: HttpRequest, thread_id: str, run_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    run = await run_get(thread, run_id)
    body = read_json(request)
    if "metadata" in body:
        run = await services.run_update(run=run, metadata=params.metadata(body) or {})
    return _run_response(run, thread.public_id)


async def run_cancel(request: HttpRequest, thread_id: str, run_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    run = await services.run_cancel(run=await run_get(thread, run_id))
    return _run_response(run, thread.public_id)


async def run_submit_tool_outputs(
    request: HttpRequest, thread_id: str, run_id: str
) -> HttpResponse:
    thread = await thread_get(thread_id)
    run = await run_get(thread, run_id)
    body = read_json(request)
    outputs = body.get("tool_outputs")
    if not isinstance(outputs, list) or not all(isinstance(item, dict) for item in outputs):
        raise params.invalid("tool_outputs", "Invalid 'tool_outputs': expected an array.")
    run = await services.run_submit_tool_outputs(run=run, outputs=outputs)
    execution = RunExecution(run, thread.public_id, after_tool_outputs=True)
    return _start(execution, stream=bool(body.get("stream")))


async def run_step_list(request: HttpRequest, thread_id: str, run_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    run = await run_get(thread, run_id)
    page = await paginate(
        RunStep.objects.filter(run=run),
        request,
        lambda step: run_step_object(step, run, thread.public_id),
    )
    return JsonResponse(page)


async def run_step_retrieve(
    request: HttpRequest, thread_id: str, run_id: str, step_id: str
) -> JsonResponse:
    thread = await thread_get(thread_id)
    run = await run_get(thread, run_id)
    step = await run_step_get(run, step_id)
    return JsonResponse(run_step_object(step, run, thread.public_id))
