"""The Responses API's and the Conversations API's URLs, on one surface."""

from functools import partial

from django.urls import path

from localai.http.endpoint import endpoint
from localai.http.surfaces import Surface
from localai.responses_api.views import conversations, responses

RESPONSE = "responses/<str:response_id>"
CONVERSATION = "conversations/<str:conversation_id>"


def patterns(surface: Surface) -> list:
    responses_api = partial(endpoint, surface=surface, protocol="responses")
    return [
        path("responses", responses_api(POST=responses.response_create), name="responses"),
        path(
            RESPONSE,
            responses_api(GET=responses.response_retrieve, DELETE=responses.response_delete),
            name="response",
        ),
        path(
            f"{RESPONSE}/cancel",
            responses_api(POST=responses.response_cancel),
            name="response-cancel",
        ),
        path(
            f"{RESPONSE}/input_items",
            responses_api(GET=responses.response_input_items),
            name="response-input-items",
        ),
        # Conversations API.
        path(
            "conversations",
            responses_api(POST=conversations.conversation_create),
            name="conversations",
        ),
        path(
            CONVERSATION,
            responses_api(
                GET=conversations.conversation_retrieve,
                POST=conversations.conversation_update,
                DELETE=conversations.conversation_delete,
            ),
            name="conversation",
        ),
        path(
            f"{CONVERSATION}/items",
            responses_api(GET=conversations.item_list, POST=conversations.item_create),
            name="conversation-items",
        ),
        path(
            f"{CONVERSATION}/items/<str:item_id>",
            responses_api(GET=conversations.item_retrieve, DELETE=conversations.item_delete),
            name="conversation-item",
        ),
    ]
