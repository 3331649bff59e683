"""/v1/threads: create (with initial messages), retrieve, update, delete."""

from django.http import HttpRequest, JsonResponse

from localai.assistants_api import params as assistant_params
from localai.assistants_api import services
from localai.assistants_api.objects import thread_object
from localai.assistants_api.selectors import thread_get
from localai.http import params
from localai.http.objects import deleted_object
from localai.http.params import read_json
from localai.tools.code_interpreter import code_interpreter_check


async def thread_create(request: HttpRequest) -> JsonResponse:
    body = read_json(request)
    code_interpreter_check(tool_resources=body.get("tool_resources"))
    messages = assistant_params.message_list(body, "messages")
    thread = await services.thread_create(
        metadata=params.metadata(body) or {},
        tool_resources=body.get("tool_resources"),
        messages=messages,
    )
    return JsonResponse(thread_object(thread))


async def thread_retrieve(request: HttpRequest, thread_id: str) -> JsonResponse:
    return JsonResponse(thread_object(await thread_get(thread_id)))


async def thread_update(request: HttpRequest, thread_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    body = read_json(request)
    fields = {}
    if "metadata" in body:
        fields["metadata"] = params.metadata(body) or {}
    if "tool_resources" in body:
        fields["tool_resources"] = body["tool_resources"] or {}
        code_interpreter_check(tool_resources=fields["tool_resources"])
    thread = await services.thread_update(thread=thread, fields=fields)
    return JsonResponse(thread_object(thread))


async def thread_delete(request: HttpRequest, thread_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    await services.thread_delete(thread=thread)
    return JsonResponse(deleted_object(thread_id, "thread"))
