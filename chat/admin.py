"""Staff screens. Remote work goes through chat.services.assistants; errors become messages."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from .agents import ProviderError, agent_class
from .models import Assistant, Conversation, KnowledgeFile, Message, RemoteCleanup
from .services.assistants import (
    assistant_definition,
    assistant_delete,
    assistant_import,
    assistant_moved,
    assistant_push_remote,
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
    "provider",
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


class AssistantAdminForm(forms.ModelForm):
    function_tools = forms.MultipleChoiceField(
        choices=registry.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Function tools",
        help_text="Functions of this site the assistant may call (see chat/tools/).",
    )

    class Meta:
        model = Assistant
        fields = DEFINITION_FIELDS
        labels = {"tools": "Extra provider tools"}
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
        self.moved = bool(instance.pk) and (
            cleaned["provider"] != instance.provider
            or cleaned["protocol"] != instance.protocol
            # Another home for a responses thread: a conversation id is no chain's head.
            or (
                cleaned["protocol"] == Assistant.Protocol.RESPONSES
                and cleaned["responses_thread"] != instance.responses_thread
            )
        )
        try:
            stored_remotely = agent_class(cleaned["protocol"]).stores_definition
        except ProviderError as exc:
            raise ValidationError(str(exc)) from exc
        if self.moved and instance.remote_id and stored_remotely:
            raise ValidationError(
                "An assistant stored on a provider cannot move to another provider or to the "
                "Assistants API. Create a new assistant instead."
            )
        # Moving to `responses` is allowed (the way off a retired Assistants API): the old
        # remote definition is left where it is.
        # Files and vector stores belong to a provider: after a change of provider the old
        # knowledge store is not the new definition's (assistant_moved deletes it).
        new_provider = bool(instance.pk) and cleaned["provider"] != instance.provider
        draft = Assistant(
            **{name: cleaned[name] for name in DEFINITION_FIELDS},
            remote_id="" if self.moved else instance.remote_id,
            remote_vector_store_id="" if new_provider else instance.remote_vector_store_id,
        )
        try:
            # Remote first: if the provider refuses, the form shows why and nothing is saved.
            self.remote_id = assistant_push_remote(
                provider=draft.provider,
                protocol=draft.protocol,
                definition=assistant_definition(draft),
            )
        except ProviderError as exc:
            if exc.code == "invalid":
                raise ValidationError(str(exc)) from exc  # refused here, not by the provider
            raise ValidationError(f"The provider refused this assistant: {exc}") from exc
        return cleaned


class ImportAssistantForm(forms.Form):
    provider = forms.ChoiceField(choices=Assistant.Provider.choices)
    protocol = forms.ChoiceField(
        choices=Assistant.Protocol.choices, initial=Assistant.Protocol.ASSISTANTS
    )
    remote_id = forms.CharField(label="Remote assistant id", max_length=256)


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
    verbose_name_plural = "Knowledge files (file search reads them; saved to the provider)"

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
    list_display = ["name", "provider", "protocol", "model", "remote_id", "is_active", "updated_at"]
    list_filter = ["provider", "protocol", "is_active"]
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
            assistant_moved(assistant=obj, previous_provider=form.initial.get("provider", ""))

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
