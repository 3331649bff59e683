"""The local provider's API, mounted at /local/ by assistants_site/urls.py.

The same endpoints answer on three surfaces (surfaces.py): /local/v1/... (OpenAI-style),
/local/openai/v1/... (Azure's v1 API) and /local/openai/... (Azure with `api-version`,
where `AsyncAzureOpenAI(azure_endpoint="<site>/local")` sends its requests).
"""

from functools import partial

from django.urls import include, path, re_path

from localai.api import endpoint, unknown_url
from localai.surfaces import AZURE, AZURE_V1, OPENAI, Surface
from localai.views import (
    assistants,
    containers,
    conversations,
    files,
    messages,
    responses,
    runs,
    threads,
    vector_stores,
)

app_name = "localai"

THREAD = "threads/<str:thread_id>"
RUN = f"{THREAD}/runs/<str:run_id>"
RESPONSE = "responses/<str:response_id>"
CONVERSATION = "conversations/<str:conversation_id>"
VECTOR_STORE = "vector_stores/<str:vector_store_id>"
FILE_BATCH = f"{VECTOR_STORE}/file_batches/<str:batch_id>"


def api_patterns(surface: Surface) -> list:
    assistants_api = partial(endpoint, surface=surface, protocol="assistants")
    responses_api = partial(endpoint, surface=surface, protocol="responses")
    return [
        *_file_patterns(surface),
        *_container_patterns(surface),
        # Assistants API v2.
        path(
            "assistants",
            assistants_api(GET=assistants.assistant_list, POST=assistants.assistant_create),
            name="assistants",
        ),
        path(
            "assistants/<str:assistant_id>",
            assistants_api(
                GET=assistants.assistant_retrieve,
                POST=assistants.assistant_update,
                DELETE=assistants.assistant_delete,
            ),
            name="assistant",
        ),
        path("threads", assistants_api(POST=threads.thread_create), name="threads"),
        path(
            THREAD,
            assistants_api(
                GET=threads.thread_retrieve,
                POST=threads.thread_update,
                DELETE=threads.thread_delete,
            ),
            name="thread",
        ),
        path(
            f"{THREAD}/messages",
            assistants_api(GET=messages.message_list, POST=messages.message_create),
            name="messages",
        ),
        path(
            f"{THREAD}/messages/<str:message_id>",
            assistants_api(GET=messages.message_retrieve),
            name="message",
        ),
        path(
            f"{THREAD}/runs",
            assistants_api(GET=runs.run_list, POST=runs.run_create),
            name="runs",
        ),
        path(RUN, assistants_api(GET=runs.run_retrieve, POST=runs.run_update), name="run"),
        path(f"{RUN}/cancel", assistants_api(POST=runs.run_cancel), name="run-cancel"),
        path(
            f"{RUN}/submit_tool_outputs",
            assistants_api(POST=runs.run_submit_tool_outputs),
            name="run-submit-tool-outputs",
        ),
        path(f"{RUN}/steps", assistants_api(GET=runs.run_step_list), name="run-steps"),
        path(
            f"{RUN}/steps/<str:step_id>",
            assistants_api(GET=runs.run_step_retrieve),
            name="run-step",
        ),
        # Responses API.
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


def _file_patterns(surface: Surface) -> list:
    """The Files API and vector stores: shared by both protocols, so neither the Assistants
    API's beta header nor its retirement applies to them."""
    api = partial(endpoint, surface=surface, protocol="responses")
    return [
        path("files", api(GET=files.file_list, POST=files.file_create), name="files"),
        path(
            "files/<str:file_id>",
            api(GET=files.file_retrieve, DELETE=files.file_delete),
            name="file",
        ),
        path("files/<str:file_id>/content", api(GET=files.file_content), name="file-content"),
        path(
            "vector_stores",
            api(GET=vector_stores.vector_store_list, POST=vector_stores.vector_store_create),
            name="vector-stores",
        ),
        path(
            VECTOR_STORE,
            api(
                GET=vector_stores.vector_store_retrieve,
                POST=vector_stores.vector_store_update,
                DELETE=vector_stores.vector_store_delete,
            ),
            name="vector-store",
        ),
        path(
            f"{VECTOR_STORE}/search",
            api(POST=vector_stores.vector_store_search),
            name="vector-store-search",
        ),
        path(
            f"{VECTOR_STORE}/files",
            api(
                GET=vector_stores.vector_store_file_list,
                POST=vector_stores.vector_store_file_create,
            ),
            name="vector-store-files",
        ),
        path(
            f"{VECTOR_STORE}/files/<str:file_id>",
            api(
                GET=vector_stores.vector_store_file_retrieve,
                POST=vector_stores.vector_store_file_update,
                DELETE=vector_stores.vector_store_file_delete,
            ),
            name="vector-store-file",
        ),
        path(
            f"{VECTOR_STORE}/files/<str:file_id>/content",
            api(GET=vector_stores.vector_store_file_content),
            name="vector-store-file-content",
        ),
        path(
            f"{VECTOR_STORE}/file_batches",
            api(POST=vector_stores.file_batch_create),
            name="vector-store-file-batches",
        ),
        path(
            FILE_BATCH,
            api(GET=vector_stores.file_batch_retrieve),
            name="vector-store-file-batch",
        ),
        path(
            f"{FILE_BATCH}/cancel",
            api(POST=vector_stores.file_batch_cancel),
            name="vector-store-file-batch-cancel",
        ),
        path(
            f"{FILE_BATCH}/files",
            api(GET=vector_stores.file_batch_file_list),
            name="vector-store-file-batch-files",
        ),
    ]


CONTAINER = "containers/<str:container_id>"
CONTAINER_FILE = f"{CONTAINER}/files/<str:file_id>"


def _container_patterns(surface: Surface) -> list:
    """The Containers API, where the Responses API's code interpreter keeps its files."""
    api = partial(endpoint, surface=surface, protocol="responses")
    return [
        path(
            "containers",
            api(GET=containers.container_list, POST=containers.container_create),
            name="containers",
        ),
        path(
            CONTAINER,
            api(GET=containers.container_retrieve, DELETE=containers.container_delete),
            name="container",
        ),
        path(
            f"{CONTAINER}/files",
            api(GET=containers.container_file_list, POST=containers.container_file_create),
            name="container-files",
        ),
        path(
            CONTAINER_FILE,
            api(GET=containers.container_file_retrieve, DELETE=containers.container_file_delete),
            name="container-file",
        ),
        path(
            f"{CONTAINER_FILE}/content",
            api(GET=containers.container_file_content),
            name="container-file-content",
        ),
    ]


urlpatterns = [
    path("v1/", include(api_patterns(OPENAI))),
    path("openai/v1/", include((api_patterns(AZURE_V1), "azure-v1"))),
    path("openai/", include((api_patterns(AZURE), "azure"))),
    # Anything else answers like the real API, in JSON, rather than with the site's 404 page.
    re_path(r"^(?P<path>.*)$", unknown_url, name="unknown"),
]
