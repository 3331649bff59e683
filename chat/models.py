import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .encryption import header_values, secret_decrypt


class Connection(models.Model):
    """How the site reaches one provider endpoint: kind, URL, authentication, defaults.

    Blank fields fall back to the environment at run time (see `chat.agents.clients`), which
    is how the `openai`, `azure` and `local` connections seeded by migration 0005 keep the
    OPENAI_*, AZURE_OPENAI_* and LOCAL_PROVIDER_* settings working. Secrets are either read
    from an environment variable named here or stored encrypted (chat.encryption); the admin
    never shows them again.
    """

    class Kind(models.TextChoices):
        OPENAI = "openai", "OpenAI or compatible server"
        AZURE = "azure", "Azure OpenAI resource"
        FOUNDRY = "foundry", "Azure AI Foundry project"
        LOCAL = "local", "Built-in local provider"

    class Auth(models.TextChoices):
        API_KEY = "api_key", "API key"
        ENTRA_ID = "entra_id", "Microsoft Entra ID (azure-identity)"
        # Today's AZURE_OPENAI_* behaviour, kept for the seeded `azure` connection.
        KEY_OR_ENTRA_ID = "key_or_entra_id", "API key if one is set, else Microsoft Entra ID"

    AZURE_KINDS = (Kind.AZURE, Kind.FOUNDRY)

    name = models.SlugField(
        max_length=64, unique=True, help_text="How assistants and commands refer to it."
    )
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.OPENAI)
    base_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="OpenAI or compatible: the API root (…/v1). Azure OpenAI: the resource "
        "endpoint (https://<resource>.openai.azure.com). Foundry: the project endpoint "
        "(https://<resource>.services.ai.azure.com/api/projects/<project>). Blank: "
        "OPENAI_BASE_URL (or api.openai.com), AZURE_OPENAI_ENDPOINT, LOCAL_PROVIDER_BASE_URL.",
    )
    auth = models.CharField("authentication", max_length=16, choices=Auth, default=Auth.API_KEY)
    api_key_env = models.CharField(
        "API key variable",
        max_length=128,
        blank=True,
        help_text="The environment variable holding the key, e.g. OPENAI_API_KEY. Used when no "
        "key is stored here.",
    )
    # Fernet token (chat.encryption); never the key itself.
    api_key_encrypted = models.TextField(blank=True, editable=False)
    # {"Header-Name": {"env": "VARIABLE"}} or {"Header-Name": {"encrypted": "<token>"}}.
    headers = models.JSONField(default=dict, blank=True, editable=False)
    default_model = models.CharField(
        max_length=256,
        blank=True,
        help_text="For assistants with no model (on Azure: a deployment name). Blank: "
        "OPENAI_CHAT_MODEL_ID, AZURE_OPENAI_CHAT_DEPLOYMENT_NAME, LOCAL_PROVIDER_MODEL.",
    )
    api_version = models.CharField(
        max_length=32,
        blank=True,
        help_text="Azure OpenAI only. Blank: AZURE_OPENAI_API_VERSION or a recent version.",
    )
    timeout = models.FloatField(
        null=True, blank=True, help_text="Seconds of silence allowed. Blank: PROVIDER_TIMEOUT."
    )
    max_retries = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Blank: PROVIDER_MAX_RETRIES."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def has_stored_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def stored_api_key(self) -> str:
        """The decrypted key typed into the admin ("" if none); SecretUnreadable if the
        encryption key changed."""
        return secret_decrypt(self.api_key_encrypted)

    def header_values(self) -> dict[str, str]:
        """The extra headers to send, secrets resolved (a missing variable sends nothing)."""
        return header_values(self.headers)


def default_connection():
    """The built-in `local` connection, as the provider of an assistant created without one
    was before connections existed; None (so a connection must be chosen) without it."""
    if not settings.LOCAL_PROVIDER_ENABLED:
        return None
    connection, _ = Connection.objects.get_or_create(
        name="local", defaults={"kind": Connection.Kind.LOCAL}
    )
    return connection.pk


ICON_MAX_CHARS = 8
STARTER_PROMPTS_MAX = 6
STARTER_PROMPT_MAX_CHARS = 300


def starter_prompts_validate(value) -> None:
    """A short list of non-empty strings: cards on the empty state, a click sends one."""
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        raise ValidationError("Starter prompts are a list of non-empty texts.")
    if len(value) > STARTER_PROMPTS_MAX:
        raise ValidationError(f"At most {STARTER_PROMPTS_MAX} starter prompts.")
    if any(len(p) > STARTER_PROMPT_MAX_CHARS for p in value):
        raise ValidationError(
            f"A starter prompt has at most {STARTER_PROMPT_MAX_CHARS} characters."
        )


class Assistant(models.Model):
    """Local metadata of an assistant whose definition lives on a provider."""

    class Protocol(models.TextChoices):
        ASSISTANTS = "assistants", "Assistants API v2"
        RESPONSES = "responses", "Responses API"
        CHAT_COMPLETIONS = "chat_completions", "Chat Completions API"

    class ResponsesThread(models.TextChoices):
        """Where a `responses` assistant's thread lives (the other protocols have one way)."""

        CONVERSATION = "conversation", "A remote conversation (Conversations API)"
        STORED = "stored", "A chain of stored responses (previous_response_id)"
        STATELESS = "stateless", "On this site (the transcript is sent each turn)"

    # Tokens of the transcript sent each turn where the site holds the thread.
    DEFAULT_CONTEXT_BUDGET = 8000

    name = models.CharField(max_length=256)
    description = models.TextField(blank=True)
    # PROTECT: a connection in use cannot be deleted (the admin lists who uses it).
    connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, default=default_connection, related_name="assistants"
    )
    protocol = models.CharField(max_length=16, choices=Protocol, default=Protocol.ASSISTANTS)
    responses_thread = models.CharField(
        "thread (responses)",
        max_length=16,
        choices=ResponsesThread,
        default=ResponsesThread.CONVERSATION,
        help_text="Where the thread of a `responses` assistant lives. Self-hosted servers "
        "rarely have conversations: choose stored responses, or stateless.",
    )
    context_budget = models.PositiveIntegerField(
        default=DEFAULT_CONTEXT_BUDGET,
        help_text="Where this site holds the thread (chat_completions, stateless responses): "
        "the most tokens of instructions and transcript sent each turn, estimated as "
        "characters / 4. Older messages beyond it are left out, and the reply says so.",
    )
    model = models.CharField(
        max_length=256,
        blank=True,
        help_text="The model (on Azure: the deployment name). Blank: the connection's default "
        "model.",
    )
    instructions = models.TextField(blank=True)
    # Names of registered function tools (chat.tools) the assistant offers and runs.
    function_tools = models.JSONField(default=list, blank=True)
    # Further provider tool definitions, sent as they are.
    tools = models.JSONField(default=list, blank=True)
    file_search = models.BooleanField(
        default=False,
        help_text="Answers from the assistant's knowledge files and the user's attachments, "
        "with citations.",
    )
    code_interpreter = models.BooleanField(
        default=False, help_text="Runs Python on the provider and shows the code, output and files."
    )
    # The provider's vector store holding the knowledge files (blank until there are some).
    remote_vector_store_id = models.CharField(max_length=256, blank=True)
    remote_id = models.CharField(
        max_length=256, blank=True, help_text="The definition's id on the provider."
    )
    is_active = models.BooleanField(default=True, help_text="Offered in the assistant picker.")
    # Presentation only: what the chat page's picker and empty state show (never sent to the
    # provider, so changing them needs no remote call).
    icon = models.CharField(
        max_length=ICON_MAX_CHARS,
        blank=True,
        help_text="An emoji or up to two letters shown beside the name. Blank: its first letter.",
    )
    starter_prompts = models.JSONField(
        default=list,
        blank=True,
        validators=[starter_prompts_validate],
        help_text=f"Up to {STARTER_PROMPTS_MAX} prompts shown as cards on a new chat.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_id"],
                condition=~Q(remote_id=""),
                name="unique_remote_assistant_per_connection",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def thread_mode(self) -> str:
        """Where the thread lives, as the agent layer takes it ("" where there is one way)."""
        return self.responses_thread if self.protocol == self.Protocol.RESPONSES else ""

    @property
    def thread_is_chain(self) -> bool:
        """The thread is a chain of stored responses, its head in `remote_thread_id`."""
        return self.thread_mode == self.ResponsesThread.STORED


class LiveConversations(models.Manager):
    """Conversations not waiting to be purged: the default manager, so that every page, API
    view, socket frame and selector treats a deleted conversation as an unknown one."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllConversations(models.Manager):
    """Deleted ones included."""


class Conversation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    # A conversation outlives its assistant's deletion so the transcript stays readable.
    assistant = models.ForeignKey(
        Assistant, on_delete=models.SET_NULL, null=True, related_name="conversations"
    )
    # The remote thread or conversation; with stored responses, the chain's last response.
    remote_thread_id = models.CharField(max_length=256, blank=True)
    # The provider's vector store of the files attached in this conversation (file search).
    remote_vector_store_id = models.CharField(max_length=256, blank=True)
    title = models.CharField(max_length=200, blank=True)
    # Set when the user renames: a generated title never overwrites a chosen one.
    title_is_custom = models.BooleanField(default=False)
    # Pinned conversations stay at the top of the sidebar, most recently pinned first.
    pinned_at = models.DateTimeField(null=True, blank=True)
    # Set by a delete: hidden everywhere at once, restorable by Undo until the purge
    # (chat.services.conversation_purge) deletes it, and its remote thread, for good.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Moves on every new message, so the sidebar shows recent activity first.
    updated_at = models.DateTimeField(auto_now_add=True, db_index=False)

    objects = LiveConversations()
    # Deleted ones too: the purge, undo and the admin's cleanup.
    all_objects = AllConversations()

    class Meta:
        # Related lookups (message.conversation) still reach a deleted conversation: the
        # turn that is cancelled by the delete finishes writing into it.
        base_manager_name = "all_objects"
        indexes = [
            models.Index(fields=["owner", "-updated_at", "-id"], name="sidebar_idx"),
            # The pinned list on every page: a handful of rows read in order, instead of
            # all of the owner's conversations filtered and sorted (2 ms at 10,000).
            models.Index(
                fields=["owner", "-pinned_at", "-id"],
                condition=Q(pinned_at__isnull=False),
                name="pinned_idx",
            ),
            models.Index(
                fields=["deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="deleted_conversations_idx",
            ),
        ]

    def __str__(self):
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        PENDING = "pending"
        STREAMING = "streaming"
        COMPLETE = "complete"
        CANCELLED = "cancelled"
        INCOMPLETE = "incomplete"
        FAILED = "failed"

    ACTIVE_STATUSES = (Status.PENDING, Status.STREAMING)

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.COMPLETE)
    error = models.TextField(blank=True)
    # Tool calls and their results, as shown in the transcript (list of dicts).
    tool_steps = models.JSONField(default=list, blank=True)
    # Numbered sources of the reply: [{"number", "file_id", "filename", "quote"}]; the text
    # refers to them as [n].
    citations = models.JSONField(default=list, blank=True)
    remote_message_id = models.CharField(max_length=256, blank=True)
    remote_run_id = models.CharField(max_length=256, blank=True)
    # With stored responses: the chain's head once this reply ended, so that a regenerate
    # or an edit of the next message continues the chain from here.
    remote_response_id = models.CharField(max_length=256, blank=True)
    # What the provider reported for this reply (null when it reported no usage).
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    model = models.CharField(max_length=256, blank=True)
    # Channel-layer name of the task streaming this reply: how Stop and late joiners reach it
    # from any process.
    runner_channel = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"], name="transcript_idx")]
        constraints = [
            # One run at a time per conversation, enforced by the database across processes.
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status__in=["pending", "streaming"]),
                name="one_active_reply_per_conversation",
            )
        ]

    def __str__(self):
        return f"{self.role}: {self.content[:40]}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


def _stored_name(instance, filename: str) -> str:
    # Never the user's file name on disk: it is kept in `name` and given back on download.
    return f"{instance.storage_folder}/{instance.created_at:%Y/%m}/{uuid.uuid4().hex}"


class StoredFile(models.Model):
    """A file kept by the site, and (once uploaded) on the provider as `remote_file_id`."""

    file = models.FileField(upload_to=_stored_name, max_length=300)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    remote_file_id = models.CharField(max_length=256, blank=True)
    # The name of the connection that holds `remote_file_id` (an assistant can move to
    # another; a renamed connection renames it here too).
    remote_provider = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES


# Shown inline in the page; anything else (SVG included: it can carry script) downloads.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


class SiteIndexed(models.Model):
    """A file the site's own file search reads (chat.file_search): extracted and chunked
    once, into FileChunk rows, where the assistant's server has no vector stores."""

    class IndexStatus(models.TextChoices):
        NONE = "", "not indexed"
        READY = "ready"
        FAILED = "failed"

    # Prefix of `site_file_id`: how a citation of the site's search names the file.
    site_id_prefix = ""

    index_status = models.CharField(max_length=16, choices=IndexStatus, blank=True)
    # Why the file could not be indexed (binary, a PDF without text...), for people to read.
    index_error = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def site_file_id(self) -> str:
        return f"{self.site_id_prefix}{self.pk}"


class Upload(SiteIndexed, StoredFile):
    """A file a user attached: unsent (no message yet), then part of their message."""

    storage_folder = "uploads"
    site_id_prefix = "upload-"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="uploads"
    )
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="uploads"
    )

    class Meta:
        ordering = ["id"]


class KnowledgeFile(SiteIndexed, StoredFile):
    """A file staff gave an assistant as knowledge: in its vector store for file search (or
    in the site's index, where the assistant's server has no vector stores). `status` and
    `error` say whether file search can read it, wherever it runs."""

    storage_folder = "knowledge"
    site_id_prefix = "knowledge-"

    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"

    assistant = models.ForeignKey(
        Assistant, on_delete=models.CASCADE, related_name="knowledge_files"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]


class FileChunk(models.Model):
    """One passage of an attachment or a knowledge file in the site's own file search, with
    what BM25 needs of it (`terms`: term -> count, retrieval.ranking.term_counts), so that a
    question reads the index and never the file again."""

    upload = models.ForeignKey(
        Upload, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks"
    )
    knowledge_file = models.ForeignKey(
        KnowledgeFile, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks"
    )
    position = models.PositiveIntegerField()
    text = models.TextField()
    terms = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(upload__isnull=False, knowledge_file__isnull=True)
                | Q(upload__isnull=True, knowledge_file__isnull=False),
                name="chunk_of_one_file",
            ),
            models.UniqueConstraint(
                fields=["upload", "position"],
                condition=Q(upload__isnull=False),
                name="one_chunk_per_upload_position",
            ),
            models.UniqueConstraint(
                fields=["knowledge_file", "position"],
                condition=Q(knowledge_file__isnull=False),
                name="one_chunk_per_knowledge_position",
            ),
        ]

    def __str__(self):
        return f"chunk {self.position} of {self.upload or self.knowledge_file}"


class OutputFile(StoredFile):
    """A file the code interpreter produced, copied here so it outlives the provider's copy."""

    storage_folder = "outputs"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="output_files"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="output_files")
    # Set for files in a Responses API container (they are addressed within it).
    remote_container_id = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["id"]


class RemoteCleanup(models.Model):
    """A provider object whose deletion failed; `manage.py retry_remote_cleanup` retries it."""

    class Kind(models.TextChoices):
        FILE = "file"
        VECTOR_STORE = "vector_store"
        CONTAINER = "container"
        THREAD = "thread"

    # The connection's name (renaming a connection renames it here too): a connection may be
    # deleted with cleanups still pending, and the record must outlive it to say so.
    provider = models.CharField(max_length=64)
    # The protocol decides how a thread is deleted (Assistants thread or Conversation).
    protocol = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=16, choices=Kind)
    remote_id = models.CharField(max_length=256)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "kind", "remote_id"], name="one_cleanup_per_remote_object"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.remote_id} on {self.provider}"
