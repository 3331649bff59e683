"""/v1/threads/{thread_id}/messages: create, list, retrieve."""

from django.http import HttpRequest, JsonResponse

from localai import params, services
from localai.api import read_json
from localai.file_search import thread_attachments_index
from localai.models import Message
from localai.objects import message_object
from localai.pagination import paginate
from localai.selectors import message_get, thread_get


async def message_create(request: HttpRequest, thread_id: str) -> JsonResponse:
    thread = await thread_get(thread_id)
    fields = params.message_fields(read_json(request))
    message = await services.message_create(thread=thread, fields=fields)
    await thread_attachments_index(thread=thread, messages=[fields])
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
