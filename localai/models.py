"""The local provider's own tables (database alias "localai", see routers.py).

Objects are addressed by their public API id (`public_id`, e.g. "asst_..."); the integer
primary key gives list endpoints a stable order and cursor, since `created_at` has only
one-second resolution.
"""

import time

from django.db import models

from localai import ids


def unix_now() -> int:
    return int(time.time())


def auto_option() -> str:
    """The default of `response_format` and `tool_choice`."""
    return "auto"


# A run in one of these states may still change; a thread holds at most one of them.
ACTIVE_RUN_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")
# Real runs expire ten minutes after creation if they have not finished.
RUN_LIFETIME_SECONDS = 600


class Assistant(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.assistant_id)
    created_at = models.BigIntegerField(default=unix_now)
    # The API tells "not set" (null) from an empty string, so these string fields are nullable.
    name = models.CharField(max_length=256, null=True)  # noqa: DJ001
    description = models.CharField(max_length=512, null=True)  # noqa: DJ001
    model = models.CharField(max_length=256)
    instructions = models.TextField(null=True)  # noqa: DJ001
    tools = models.JSONField(default=list)
    tool_resources = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict)
    temperature = models.FloatField(default=1.0)
    top_p = models.FloatField(default=1.0)
    response_format = models.JSONField(default=auto_option)

    def __str__(self) -> str:
        return self.public_id


class Thread(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.thread_id)
    created_at = models.BigIntegerField(default=unix_now)
    metadata = models.JSONField(default=dict)
    tool_resources = models.JSONField(default=dict)
    # Set and cleared with conditional UPDATEs: one active run per thread, across processes.
    active_run_id = models.CharField(max_length=40, null=True)  # noqa: DJ001

    def __str__(self) -> str:
        return self.public_id


class Message(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.message_id)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    created_at = models.BigIntegerField(default=unix_now)
    role = models.CharField(max_length=16)
    # Content blocks exactly as the API returns them.
    content = models.JSONField(default=list)
    status = models.CharField(max_length=16, default="completed")
    # Null for messages that no run wrote, as in the API.
    assistant_id = models.CharField(max_length=40, null=True)  # noqa: DJ001
    run_id = models.CharField(max_length=40, null=True)  # noqa: DJ001
    attachments = models.JSONField(default=list)
    metadata = models.JSONField(default=dict)
    completed_at = models.BigIntegerField(null=True)
    incomplete_at = models.BigIntegerField(null=True)
    incomplete_details = models.JSONField(null=True)

    def __str__(self) -> str:
        return self.public_id

    @property
    def text(self) -> str:
        return "\n".join(
            block["text"]["value"] for block in self.content if block.get("type") == "text"
        )


class Run(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.run_id)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="runs")
    # The id, not a foreign key: a run outlives the deletion of its assistant.
    assistant_id = models.CharField(max_length=40)
    created_at = models.BigIntegerField(default=unix_now)
    status = models.CharField(max_length=16, default="queued")
    model = models.CharField(max_length=256)
    instructions = models.TextField(default="")
    tools = models.JSONField(default=list)
    tool_choice = models.JSONField(default=auto_option)
    metadata = models.JSONField(default=dict)
    temperature = models.FloatField(default=1.0)
    top_p = models.FloatField(default=1.0)
    response_format = models.JSONField(default=auto_option)
    parallel_tool_calls = models.BooleanField(default=True)
    max_prompt_tokens = models.IntegerField(null=True)
    max_completion_tokens = models.IntegerField(null=True)
    truncation_strategy = models.JSONField(default=dict)
    required_action = models.JSONField(null=True)
    last_error = models.JSONField(null=True)
    usage = models.JSONField(null=True)
    started_at = models.BigIntegerField(null=True)
    completed_at = models.BigIntegerField(null=True)
    cancelled_at = models.BigIntegerField(null=True)
    failed_at = models.BigIntegerField(null=True)
    expires_at = models.BigIntegerField(null=True)
    # What the deterministic model answers: the last user message when the run was created
    # (directives included), and the prompt size for `usage`.
    input_text = models.TextField(default="")
    prompt_tokens = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.public_id


class RunStep(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.step_id)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    created_at = models.BigIntegerField(default=unix_now)
    type = models.CharField(max_length=32)
    status = models.CharField(max_length=16, default="in_progress")
    step_details = models.JSONField(default=dict)
    last_error = models.JSONField(null=True)
    usage = models.JSONField(null=True)
    metadata = models.JSONField(default=dict)
    completed_at = models.BigIntegerField(null=True)
    cancelled_at = models.BigIntegerField(null=True)
    failed_at = models.BigIntegerField(null=True)
    expired_at = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return self.public_id


# --- Responses API and Conversations API -----------------------------------------------------

# A response in one of these states may still change; a conversation holds at most one.
ACTIVE_RESPONSE_STATUSES = ("queued", "in_progress")


class Conversation(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.conversation_id)
    created_at = models.BigIntegerField(default=unix_now)
    metadata = models.JSONField(default=dict)
    # Set and cleared with conditional UPDATEs: one active response per conversation, so that
    # two responses never interleave their items.
    active_response_id = models.CharField(max_length=40, null=True)  # noqa: DJ001

    def __str__(self) -> str:
        return self.public_id


class Response(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.response_id)
    created_at = models.BigIntegerField(default=unix_now)
    status = models.CharField(max_length=16, default="in_progress")
    # A response outlives its conversation, and still names it.
    conversation = models.ForeignKey(
        Conversation, null=True, on_delete=models.SET_NULL, related_name="responses"
    )
    conversation_public_id = models.CharField(max_length=40, null=True)  # noqa: DJ001
    previous_response_id = models.CharField(max_length=40, null=True)  # noqa: DJ001
    background = models.BooleanField(default=False)
    store = models.BooleanField(default=True)
    model = models.CharField(max_length=256)
    instructions = models.TextField(null=True)  # noqa: DJ001
    tools = models.JSONField(default=list)
    tool_choice = models.JSONField(default=auto_option)
    metadata = models.JSONField(default=dict)
    temperature = models.FloatField(default=1.0)
    top_p = models.FloatField(default=1.0)
    parallel_tool_calls = models.BooleanField(default=True)
    max_output_tokens = models.IntegerField(null=True)
    text = models.JSONField(default=dict)
    error = models.JSONField(null=True)
    incomplete_details = models.JSONField(null=True)
    usage = models.JSONField(null=True)
    completed_at = models.BigIntegerField(null=True)
    # When a response that nothing executes any more (its process died) counts as failed.
    expires_at = models.BigIntegerField(null=True)
    # What the deterministic model answers: the last user message (directives included),
    # the (function name, output) pairs when the input carried function call outputs, and
    # the prompt size for `usage`.
    input_text = models.TextField(default="")
    tool_outputs = models.JSONField(null=True)
    prompt_tokens = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.public_id


class Item(models.Model):
    """A conversation item, and an input or output item of a response.

    `body` is the item exactly as the API returns it, without its id. An item can belong to
    a conversation, to a response, or to both (a response's input and output items are
    appended to its conversation).
    """

    public_id = models.CharField(max_length=40, unique=True)
    created_at = models.BigIntegerField(default=unix_now)
    conversation = models.ForeignKey(
        Conversation, null=True, on_delete=models.CASCADE, related_name="items"
    )
    response = models.ForeignKey(
        Response, null=True, on_delete=models.SET_NULL, related_name="items"
    )
    # "input" or "output" of `response`.
    direction = models.CharField(max_length=8, default="input")
    type = models.CharField(max_length=32)
    body = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.public_id


# --- Files API and vector stores ---------------------------------------------------------------


class File(models.Model):
    """An uploaded file; its bytes live in this database, as a remote service keeps them."""

    public_id = models.CharField(max_length=40, unique=True, default=ids.file_id)
    created_at = models.BigIntegerField(default=unix_now)
    filename = models.CharField(max_length=512)
    purpose = models.CharField(max_length=32)
    content_type = models.CharField(max_length=128, default="application/octet-stream")
    size = models.BigIntegerField(default=0)  # the API's `bytes`
    content = models.BinaryField(default=b"")

    def __str__(self) -> str:
        return self.public_id


class VectorStore(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.vector_store_id)
    created_at = models.BigIntegerField(default=unix_now)
    name = models.CharField(max_length=256, default="")
    metadata = models.JSONField(default=dict)
    expires_after = models.JSONField(null=True)
    last_active_at = models.BigIntegerField(default=unix_now)

    def __str__(self) -> str:
        return self.public_id


class VectorStoreFileBatch(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.file_batch_id)
    vector_store = models.ForeignKey(
        VectorStore, on_delete=models.CASCADE, related_name="file_batches"
    )
    created_at = models.BigIntegerField(default=unix_now)

    def __str__(self) -> str:
        return self.public_id


class VectorStoreFile(models.Model):
    """A file in a vector store. Its API id is the file's id, as in the real API."""

    vector_store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="files")
    # Deleting a file removes it from every vector store, as in the real API.
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="vector_store_files")
    batch = models.ForeignKey(
        VectorStoreFileBatch, null=True, on_delete=models.SET_NULL, related_name="files"
    )
    created_at = models.BigIntegerField(default=unix_now)
    # "completed" or "failed": indexing happens when the file is added.
    status = models.CharField(max_length=16, default="in_progress")
    last_error = models.JSONField(null=True)
    usage_bytes = models.BigIntegerField(default=0)
    attributes = models.JSONField(default=dict)
    chunking_strategy = models.JSONField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vector_store", "file"], name="localai_vs_file_once")
        ]

    def __str__(self) -> str:
        return f"{self.vector_store_id}/{self.file_id}"


class Chunk(models.Model):
    """A passage of a vector store file's text, the unit that file search ranks."""

    vector_store_file = models.ForeignKey(
        VectorStoreFile, on_delete=models.CASCADE, related_name="chunks"
    )
    position = models.IntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["vector_store_file", "position"]

    def __str__(self) -> str:
        return f"{self.vector_store_file}#{self.position}"


# --- Containers (the code interpreter's in the Responses API) --------------------------------

# Containers expire after this many idle minutes in the real API; echoed, not enforced here.
CONTAINER_IDLE_MINUTES = 20


class Container(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=ids.container_id)
    created_at = models.BigIntegerField(default=unix_now)
    name = models.CharField(max_length=256, default="")
    status = models.CharField(max_length=16, default="running")
    last_active_at = models.BigIntegerField(default=unix_now)
    memory_limit = models.CharField(max_length=8, default="1g")

    def __str__(self) -> str:
        return self.public_id


class ContainerFile(models.Model):
    """A file in a container: uploaded, copied from a File, or left there by the code."""

    public_id = models.CharField(max_length=40, unique=True, default=ids.container_file_id)
    container = models.ForeignKey(Container, on_delete=models.CASCADE, related_name="files")
    created_at = models.BigIntegerField(default=unix_now)
    # "/mnt/data/<name>", as in the real API.
    path = models.CharField(max_length=1024)
    # "user" (uploaded or copied) or "assistant" (produced by the code).
    source = models.CharField(max_length=16, default="user")
    content_type = models.CharField(max_length=128, default="application/octet-stream")
    size = models.BigIntegerField(default=0)
    content = models.BinaryField(default=b"")

    def __str__(self) -> str:
        return self.public_id

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]
