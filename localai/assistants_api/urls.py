"""The Assistants API v2's URLs, on one surface: assistants, threads, messages, runs, steps."""

from functools import partial

from django.urls import path

from localai.assistants_api.views import assistants, messages, runs, threads
from localai.http.endpoint import endpoint
from localai.http.surfaces import Surface

THREAD = "threads/<str:thread_id>"
RUN = f"{THREAD}/runs/<str:run_id>"


def patterns(surface: Surface) -> list:
    """Behind the beta header, and answering 410 where the API is retired."""
    assistants_api = partial(endpoint, surface=surface, protocol="assistants")
    return [
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
    ]
