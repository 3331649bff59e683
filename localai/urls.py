"""The local provider's API, mounted at /local/ by assistants_site/urls.py: /local/v1/..."""

from django.urls import path, re_path

from localai.api import endpoint, unknown_url
from localai.views import assistants, messages, runs, threads

app_name = "localai"

THREAD = "v1/threads/<str:thread_id>"
RUN = f"{THREAD}/runs/<str:run_id>"

urlpatterns = [
    path(
        "v1/assistants",
        endpoint(GET=assistants.assistant_list, POST=assistants.assistant_create),
        name="assistants",
    ),
    path(
        "v1/assistants/<str:assistant_id>",
        endpoint(
            GET=assistants.assistant_retrieve,
            POST=assistants.assistant_update,
            DELETE=assistants.assistant_delete,
        ),
        name="assistant",
    ),
    path("v1/threads", endpoint(POST=threads.thread_create), name="threads"),
    path(
        THREAD,
        endpoint(
            GET=threads.thread_retrieve,
            POST=threads.thread_update,
            DELETE=threads.thread_delete,
        ),
        name="thread",
    ),
    path(
        f"{THREAD}/messages",
        endpoint(GET=messages.message_list, POST=messages.message_create),
        name="messages",
    ),
    path(
        f"{THREAD}/messages/<str:message_id>",
        endpoint(GET=messages.message_retrieve),
        name="message",
    ),
    path(f"{THREAD}/runs", endpoint(GET=runs.run_list, POST=runs.run_create), name="runs"),
    path(RUN, endpoint(GET=runs.run_retrieve, POST=runs.run_update), name="run"),
    path(f"{RUN}/cancel", endpoint(POST=runs.run_cancel), name="run-cancel"),
    path(
        f"{RUN}/submit_tool_outputs",
        endpoint(POST=runs.run_submit_tool_outputs),
        name="run-submit-tool-outputs",
    ),
    path(f"{RUN}/steps", endpoint(GET=runs.run_step_list), name="run-steps"),
    path(f"{RUN}/steps/<str:step_id>", endpoint(GET=runs.run_step_retrieve), name="run-step"),
    # Anything else answers like the real API, in JSON, rather than with the site's 404 page.
    re_path(r"^(?P<path>.*)$", unknown_url, name="unknown"),
]
