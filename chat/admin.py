"""Staff screens. Remote work goes through chat.services.assistants; errors become messages."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from .agents import ProviderError, agent_class
from .models import Assistant, Connection, Conversation, KnowledgeFile, Message, RemoteCleanup
from .services.assistants import (
    assistant_definition,
    assistant_delete,
    assistant_import,
    assistant_move_checked,
    assistant_moved,
    assistant_push_remote,
)
from .services.connections import (
    HeaderValue,
    connection_check,
    connection_in_use_message,
    connection_models,
    connection_save,
)
from .services.conversations import conversation_delete
from .services.file_types import is_indexable
from .services.knowledge import assistant_knowledge_sync
from .services.providers import provider_check_assistant
from .services.refusals import Refused
from .services.uploads import file_checked
from .tools import registry

DEFINITION_FIELDS = [
    "name",
    "description",
    "connection",
    "protocol",
    "responses_thread",
    "context_budget",
    "model",
    "instructions",
    "function_tools",
    "file_search",
    "code_interpreter",
    "tools",
    "is_active",
]


class ModelPickerInput(forms.TextInput):
    """A free text field with a datalist that the admin's script fills from GET /models of
    the chosen connection (where the server lists its models)."""

    def __init__(self, attrs=None):
        super().__init__({"list": "connection-models", "autocomplete": "off", **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        return format_html(
            '{}<datalist id="connection-models" data-url="{}"></datalist>',
            field,
            reverse("admin:chat_connection_models"),
        )

    class Media:
        js = ["chat/admin/model_picker.js"]


# What the chat page shows; never part of the definition sent to the provider.
PRESENTATION_FIELDS = ["icon", "starter_prompts"]


class StarterPromptsField(forms.CharField):
    """One prompt per line in the admin; a list in the model (Assistant.starter_prompts)."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return [line.strip() for line in (value or "").splitlines() if line.strip()]


class AssistantAdminForm(forms.ModelForm):
    starter_prompts = StarterPromptsField(
        required=False,
        label="Starter prompts",
        help_text="One per line: shown as cards on a new chat; a click sends it.",
    )
    function_tools = forms.MultipleChoiceField(
        choices=registry.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Function tools",
        help_text="Functions of this site the assistant may call (see chat/tools/).",
    )

    class Meta:
        model = Assistant
        fields = [*DEFINITION_FIELDS, *PRESENTATION_FIELDS]
        labels = {"tools": "Extra provider tools"}
        widgets = {"model": ModelPickerInput}
        help_texts = {
            "tools": "Optional: a JSON list of further tool definitions sent to the provider as "
            'they are, e.g. [{"type": "file_search"}]. Functions listed here are offered but '
            "not run by this site.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out (a script's POST, an older form): the model's defaults.
        for name in ("responses_thread", "context_budget"):
            self.fields[name].required = False

    def clean_responses_thread(self):
        return self.cleaned_data.get("responses_thread") or Assistant.ResponsesThread.CONVERSATION

    def clean_context_budget(self):
        budget = self.cleaned_data.get("context_budget")
        return Assistant.DEFAULT_CONTEXT_BUDGET if budget is None else budget

    def clean_tools(self):
        tools = self.cleaned_data.get("tools") or []
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise ValidationError("Tools must be a JSON list of objects.")
        return tools

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        instance = self.instance
        connection = cleaned["connection"]
        self.previous_connection = instance.connection if instance.pk else None
        try:
            agent_class(cleaned["protocol"])  # a protocol this site cannot speak is refused
            self.moved = assistant_move_checked(
                assistant=instance,
                connection=connection,
                protocol=cleaned["protocol"],
                responses_thread=cleaned["responses_thread"],
            )
        except ProviderError as exc:
            raise ValidationError(str(exc)) from exc
        except Refused as refusal:
            raise ValidationError(str(refusal)) from None
        # Files and vector stores belong to a connection: after a change of connection the
        # old knowledge store is not the new definition's (assistant_moved deletes it).
        new_connection = bool(instance.pk) and connection.pk != instance.connection_id
        draft = Assistant(
            **{name: cleaned[name] for name in DEFINITION_FIELDS},
            remote_id="" if self.moved else instance.remote_id,
            remote_vector_store_id="" if new_connection else instance.remote_vector_store_id,
        )
        try:
            # Remote first: if the provider refuses, the form shows why and nothing is saved.
            self.remote_id = assistant_push_remote(
                connection=draft.connection,
                protocol=draft.protocol,
                definition=assistant_definition(draft),
            )
        except ProviderError as exc:
            if exc.code == "invalid":
                raise ValidationError(str(exc)) from exc  # refused here, not by the provider
            raise ValidationError(f"The provider refused this assistant: {exc}") from exc
        return cleaned


class ImportAssistantForm(forms.Form):
    connection = forms.ModelChoiceField(queryset=Connection.objects.all(), empty_label=None)
    protocol = forms.ChoiceField(
        choices=Assistant.Protocol.choices, initial=Assistant.Protocol.ASSISTANTS
    )
    remote_id = forms.CharField(label="Remote assistant id", max_length=256)


# How the headers field shows a stored secret value: the value itself never comes back.
MASKED = "••••••••"


def _headers_text(headers: dict) -> str:
    return "\n".join(
        f"{name}={source['env']}" if "env" in source else f"{name}: {MASKED}"
        for name, source in (headers or {}).items()
    )


def _headers_parsed(text: str) -> dict[str, HeaderValue]:
    """`Name=ENV_VAR` reads the header from the environment; `Name: value` is a secret kept
    encrypted; `Name: ••••••••` (as shown) keeps the stored value."""
    headers = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        colon, equals = line.find(":"), line.find("=")
        if colon > 0 and (equals < 0 or colon < equals):
            name, value = (part.strip() for part in line.split(":", 1))
            header = HeaderValue(keep=True) if value == MASKED else HeaderValue(value=value)
        elif equals > 0:
            name, variable = (part.strip() for part in line.split("=", 1))
            if not variable.replace("_", "").isalnum():
                raise ValidationError(f"Line {number}: {variable!r} is not a variable name.")
            header = HeaderValue(env=variable)
        else:
            raise ValidationError(f"Line {number}: write Name=ENV_VAR or Name: value.")
        if not name or not all(c.isalnum() or c in "-_" for c in name):
            raise ValidationError(f"Line {number}: {name!r} is not a header name.")
        if not (header.keep or header.env or header.value):
            raise ValidationError(f"Line {number}: the header {name} has no value.")
        headers[name] = header
    return headers


class ConnectionAdminForm(forms.ModelForm):
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=Connection._meta.get_field("base_url").help_text,
    )
    # Write-only: rendered empty every time, so a saved key never reaches a page again.
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted (FIELD_ENCRYPTION_KEY) and never shown again; leave blank "
        "to keep the stored key. Or leave it out and name an environment variable below.",
    )
    clear_api_key = forms.BooleanField(label="Forget the stored API key", required=False)
    headers_text = forms.CharField(
        label="Extra headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="One a line: <code>Name=ENV_VAR</code> sends the variable's value; "
        "<code>Name: value</code> stores the value encrypted (shown masked afterwards).",
    )

    class Meta:
        model = Connection
        fields = [
            "name",
            "kind",
            "base_url",
            "auth",
            "api_key",
            "clear_api_key",
            "api_key_env",
            "headers_text",
            "default_model",
            "api_version",
            "timeout",
            "max_retries",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["headers_text"].initial = _headers_text(self.instance.headers)
        if self.instance.has_stored_api_key:
            self.fields[
                "api_key"
            ].help_text = (
                "A key is stored (encrypted). Type a new one to replace it; blank keeps it."
            )
        else:
            self.fields["clear_api_key"].disabled = True

    def clean_headers_text(self):
        return _headers_parsed(self.cleaned_data.get("headers_text") or "")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("auth") == Connection.Auth.ENTRA_ID and (
            cleaned.get("kind") not in Connection.AZURE_KINDS
        ):
            self.add_error("auth", "Microsoft Entra ID is for the Azure kinds only.")
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Provider connections; secrets are write-only (see ConnectionAdminForm)."""

    form = ConnectionAdminForm
    list_display = ["name", "kind", "endpoint", "auth", "key", "assistant_count", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "base_url"]
    actions = ["check_connections"]

    @admin.display(description="Base URL")
    def endpoint(self, obj):
        return obj.base_url or "(from the environment)"

    @admin.display(description="Key")
    def key(self, obj):
        if obj.has_stored_api_key:
            return "stored (encrypted)"
        return f"${obj.api_key_env}" if obj.api_key_env else "-"

    @admin.display(description="Assistants")
    def assistant_count(self, obj):
        return obj.assistants.count()

    def save_model(self, request, obj, form, change):
        connection_save(
            connection=obj,
            api_key=form.cleaned_data.get("api_key") or None,
            clear_api_key=form.cleaned_data.get("clear_api_key", False),
            headers=form.cleaned_data.get("headers_text", {}),
            previous_name=form.initial.get("name", "") if change else "",
        )

    def delete_view(self, request, object_id, extra_context=None):
        connection = self.get_object(request, object_id)
        if connection is not None:
            users = list(connection.assistants.order_by("name").values_list("name", flat=True))
            if users:
                # PROTECT refuses it anyway; this says who holds it, in one sentence.
                self.message_user(
                    request, connection_in_use_message(connection, users), messages.ERROR
                )
                return HttpResponseRedirect(
                    reverse("admin:chat_connection_change", args=[object_id])
                )
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description="Check which APIs answer")
    def check_connections(self, request, queryset):
        for connection in queryset:
            try:
                probe = connection_check(connection=connection)
            except ProviderError as exc:
                self.message_user(request, f"{connection}: {exc}", messages.ERROR)
                continue
            recommended = probe.recommended_protocol or "none (no API answers)"
            lines = "; ".join(str(line) for line in probe.probes)
            level = messages.SUCCESS if probe.any_ok else messages.ERROR
            self.message_user(
                request, f"{connection}: {lines}. Recommended protocol: {recommended}.", level
            )

    def get_urls(self):
        return [
            path(
                "models/",
                self.admin_site.admin_view(self.models_view),
                name="chat_connection_models",
            ),
            *super().get_urls(),
        ]

    def models_view(self, request):
        """The models a connection's server lists, for the assistant form's model picker:
        `{"models": [...]}`, or `{"models": null}` where it lists none."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        pk = request.GET.get("connection", "")
        connection = get_object_or_404(Connection, pk=int(pk) if pk.isdigit() else 0)
        return JsonResponse({"models": connection_models(connection=connection)})


class KnowledgeFileForm(forms.ModelForm):
    """A knowledge file: checked like a user's attachment, and it must be searchable."""

    class Meta:
        model = KnowledgeFile
        fields = ["file"]
        # No "currently: <link>" to a media URL: files download through the site's view.
        widgets = {"file": forms.FileInput}

    def clean_file(self):
        file = self.cleaned_data.get("file")
        if self.instance.pk:
            if file != self.instance.file:
                raise ValidationError("To replace a file, delete it and add the new one.")
            return file
        try:
            name, content_type = file_checked(file=file)
        except Refused as refusal:
            raise ValidationError(str(refusal), code=refusal.code) from None
        if not is_indexable(content_type):
            raise ValidationError(f"“{name}”: file search cannot read images; use text or PDF.")
        self.instance.name, self.instance.content_type = name, content_type
        self.instance.size = file.size
        return file


class KnowledgeFileInline(admin.TabularInline):
    model = KnowledgeFile
    form = KnowledgeFileForm
    fields = ["file", "download", "size", "status", "error"]
    readonly_fields = ["download", "size", "status", "error"]
    extra = 1
    verbose_name = "knowledge file"
    verbose_name_plural = (
        "Knowledge files (file search reads them: saved to the provider, or indexed on this "
        "site where the assistant's server has no vector stores)"
    )

    @admin.display(description="File")
    def download(self, obj):
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">{}</a>', reverse("chat:knowledge_file", args=[obj.pk]), obj.name
        )


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    form = AssistantAdminForm
    inlines = [KnowledgeFileInline]
    list_display = [
        "name",
        "connection",
        "protocol",
        "model",
        "remote_id",
        "is_active",
        "updated_at",
    ]
    list_select_related = ["connection"]
    list_filter = ["connection", "protocol", "is_active"]
    search_fields = ["name", "description", "remote_id"]
    readonly_fields = ["remote_id", "created_at", "updated_at"]
    change_list_template = "admin/chat/assistant/change_list.html"
    actions = ["check_provider_connection", "delete_remote_and_local"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The stock bulk delete would skip the provider; ours deletes there first.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        obj.remote_id = form.remote_id
        obj.save()
        if change and form.moved:
            assistant_moved(assistant=obj, previous_connection=form.previous_connection)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        removed = [
            deleted
            for formset in formsets
            if formset.model is KnowledgeFile
            for deleted in formset.deleted_objects
        ]
        # After the inlines are saved: new knowledge files go to the provider and its vector
        # store, removed ones are deleted there. A failure loses nothing here (see the
        # file's status) and the next save tries again.
        errors = assistant_knowledge_sync(assistant=form.instance, removed=removed)
        for error in errors:
            self.message_user(request, f"Knowledge file not ready: {error}", messages.ERROR)

    @admin.action(description="Check provider connection")
    def check_provider_connection(self, request, queryset):
        for assistant in queryset:
            result = provider_check_assistant(assistant=assistant)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{assistant}: {result.message}", level)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ProviderError as exc:
            self.message_user(request, f"Not deleted: the provider failed: {exc}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:chat_assistant_change", args=[object_id]))

    def delete_model(self, request, obj):
        assistant_delete(assistant=obj)

    @admin.action(
        description="Delete selected assistants here and on the provider", permissions=["delete"]
    )
    def delete_remote_and_local(self, request, queryset):
        deleted = 0
        for assistant in queryset:
            try:
                assistant_delete(assistant=assistant)
                deleted += 1
            except ProviderError as exc:
                self.message_user(request, f"{assistant}: not deleted: {exc}", messages.ERROR)
        if deleted:
            self.message_user(request, f"Deleted {deleted} assistant(s).", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="chat_assistant_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = ImportAssistantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                assistant = assistant_import(**form.cleaned_data)
            except ProviderError as exc:
                form.add_error(None, f"Could not import: {exc}")
            else:
                self.message_user(request, f"Imported “{assistant}”.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:chat_assistant_change", args=[assistant.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "opts": self.model._meta,
            "title": "Import an assistant from a provider",
        }
        return render(request, "admin/chat/assistant/import.html", context)


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["role", "status", "content", "error", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "assistant", "updated_at"]
    list_select_related = ["owner", "assistant"]
    search_fields = ["title", "owner__username"]
    readonly_fields = [
        "owner",
        "assistant",
        "remote_thread_id",
        "remote_vector_store_id",
        "created_at",
        "updated_at",
    ]
    inlines = [MessageInline]
    actions = ["delete_remote_and_local"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        # The stock bulk delete would leave the thread, files and vector store on the provider.
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ProviderError as exc:
            self.message_user(request, f"Not deleted: the provider failed: {exc}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:chat_conversation_change", args=[object_id]))

    def delete_model(self, request, obj):
        conversation_delete(user=obj.owner, conversation_id=obj.pk)

    @admin.action(
        description="Delete selected conversations here and on the provider",
        permissions=["delete"],
    )
    def delete_remote_and_local(self, request, queryset):
        deleted = 0
        for conversation in queryset.select_related("owner"):
            try:
                conversation_delete(user=conversation.owner, conversation_id=conversation.pk)
                deleted += 1
            except ProviderError as exc:
                self.message_user(request, f"{conversation}: not deleted: {exc}", messages.ERROR)
        if deleted:
            self.message_user(request, f"Deleted {deleted} conversation(s).", messages.SUCCESS)


@admin.register(RemoteCleanup)
class RemoteCleanupAdmin(admin.ModelAdmin):
    """Provider deletions that failed; `manage.py retry_remote_cleanup` retries them."""

    list_display = ["kind", "remote_id", "provider", "attempts", "last_error", "updated_at"]
    list_filter = ["provider", "kind"]
    readonly_fields = [f.name for f in RemoteCleanup._meta.fields]

    def has_add_permission(self, request):
        return False
