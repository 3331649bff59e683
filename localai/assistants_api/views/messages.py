"""/v1/threads/{thread_id}/messages: create, list, retrieve."""

from django.http import HttpRequest, JsonResponse

from localai.assistants_api import params as assistant_params
from localai.assistants_api import services
from localai.assistants_api.objects import message_object
from localai.assistants_api.selectors import message_get, thread_get
from localai.http.pagination import paginate
from localai.http.params import read_json
from localai.models import Message


async def message_create(request: HttpRequest, thread_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    fields = assistant_params.message_fields(read_json(request))
    message = await services.message_create(thread=thread, fields=fields)
    return JsonResponse(message_object(message, thread.public_id))


async def message_list(request: HttpRequest, thread_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    messages = Message.objects.filter(thread=thread)
    if request.GET.get("run_id"):
        messages = messages.filter(run_id=request.GET["run_id"])
    page = await paginate(messages, request, lambda m: message_object(m, thread.public_id))
    return JsonResponse(page)


async def message_retrieve(request: HttpRequest, thread_id: str, message_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    message = await message_get(thread, message_id)
    return JsonResponse(message_object(message, thread.public_id))
