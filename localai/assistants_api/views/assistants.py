"""/v1/assistants: create, list, retrieve, update, delete."""

from django.http import HttpRequest, JsonResponse

from localai.assistants_api import params as assistant_params
from localai.assistants_api import services
from localai.assistants_api.objects import assistant_object
from localai.assistants_api.selectors import assistant_get
from localai.http import params
from localai.http.objects import deleted_object
from localai.http.pagination import paginate
from localai.http.params import read_json
from localai.models import Assistant
from localai.tools.code_interpreter import code_interpreter_check


def _assistant_fields(body: dict) -> dict:
    """The fields present in a create or update body, validated, their tools checked against
    their resources (the service makes the file_search helper stores)."""
    fields = {}
    for name, max_length in (("name", 256), ("description", 512), ("instructions", 256_000)):
        if name in body:
            fields[name] = params.optional_string(body, name, max_length=max_length)
    if "model" in body:
        fields["model"] = params.required_string(body, "model")
    if "tools" in body:
        fields["tools"] = assistant_params.tools(body) or []
    if "metadata" in body:
        fields["metadata"] = params.metadata(body) or {}
    if "tool_resources" in body:
        fields["tool_resources"] = body["tool_resources"] or {}
    for name, high in (("temperature", 2.0), ("top_p", 1.0)):
        if body.get(name) is not None:
            fields[name] = params.optional_number(body, name, low=0.0, high=high)
    if body.get("response_format") is not None:
        fields["response_format"] = body["response_format"]
    code_interpreter_check(
        tools=fields.get("tools", ()), tool_resources=fields.get("tool_resources")
    )
    return fields


async def assistant_list(request: HttpRequest) -> JsonResponse:
    return JsonResponse(await paginate(Assistant.objects.all(), request, assistant_object))


async def assistant_create(request: HttpRequest) -> JsonResponse:
    body = read_json(request)
    params.required_string(body, "model")
    fields = _assistant_fields(body)
    assistant = await services.assistant_create(fields=fields)
    return JsonResponse(assistant_object(assistant))


async def assistant_retrieve(request: HttpRequest, assistant_id: str) -> JsonResponse:
    return JsonResponse(assistant_object(await assistant_get(assistant_id)))


async def assistant_update(request: HttpRequest, assistant_id: str) -> JsonResponse:
    assistant = await assistant_get(assistant_id)
    fields = _assistant_fields(read_json(request))
    assistant = await services.assistant_update(assistant=assistant, fields=fields)
    return JsonResponse(assistant_object(assistant))


async def assistant_delete(request: HttpRequest, assistant_id: str) -> JsonResponse:
    assistant = await assistant_get(assistant_id)
    await services.assistant_delete(assistant=assistant)
    return JsonResponse(deleted_object(assistant_id, "assistant"))
