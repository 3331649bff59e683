"""/v1/conversations: create (with initial items), retrieve, update, delete, and its items."""

from django.http import HttpRequest, JsonResponse

from localai.http import params
from localai.http.objects import deleted_object, list_object
from localai.http.pagination import paginate
from localai.http.params import read_json
from localai.responses_api import params as response_params
from localai.responses_api import services
from localai.responses_api.objects import conversation_object, item_object
from localai.responses_api.selectors import conversation_get, conversation_item_get


async def conversation_create(request: HttpRequest) -> JsonResponse:
    body = read_json(request)
    conversation = await services.conversation_create(
        metadata=params.metadata(body) or {},
        items=response_params.conversation_items(body.get("items")),
    )
    return JsonResponse(conversation_object(conversation))


async def conversation_retrieve(request: HttpRequest, conversation_id: str) -> JsonResponse:
    return JsonResponse(conversation_object(await conversation_get(conversation_id)))


async def conversation_update(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = await conversation_get(conversation_id)
    body = read_json(request)
    if "metadata" not in body:
        raise params.invalid("metadata", "Missing required parameter: 'metadata'.")
    conversation = await services.conversation_update(
        conversation=conversation, metadata=params.metadata(body) or {}
    )
    return JsonResponse(conversation_object(conversation))


async def conversation_delete(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = await conversation_get(conversation_id)
    await services.conversation_delete(conversation=conversation)
    return JsonResponse(deleted_object(conversation_id, "conversation"))


async def item_list(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = await conversation_get(conversation_id)
    return JsonResponse(await paginate(conversation.items.all(), request, item_object))


async def item_create(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = await conversation_get(conversation_id)
    body = read_json(request)
    if not body.get("items"):
        raise params.invalid("items", "Missing required parameter: 'items'.")
    items = await services.conversation_items_add(
        conversation=conversation, items=response_params.conversation_items(body["items"])
    )
    return JsonResponse(list_object([item_object(item) for item in items], has_more=False))


async def item_retrieve(request: HttpRequest, conversation_id: str, item_id: str) -> JsonResponse:
    conversation = await conversation_get(conversation_id)
    return JsonResponse(item_object(await conversation_item_get(conversation, item_id)))


async def item_delete(request: HttpRequest, conversation_id: str, item_id: str) -> JsonResponse:
    conversation = await conversation_get(conversation_id)
    item = await conversation_item_get(conversation, item_id)
    await services.conversation_item_delete(item=item)
    return JsonResponse(conversation_object(conversation))
