"""Staff screens. Remote work goes through chat.services.assistants; errors become messages."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse

from .agents import ProviderError, agent_class
from .models import Assistant, Conversation, Message
from .services.assistants import (
    assistant_definition,
    assistant_delete,
    assistant_import,
    assistant_moved,
    assistant_push_remote,
)
from .services.providers import provider_check_assistant
from .tools import registry

DEFINITION_FIELDS = [
    "name",
    "description",
    "provider",
    "protocol",
    "model",
    "instructions",
    "function_tools",
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
            cleaned["provider"] != instance.provider or cleaned["protocol"] != instance.protocol
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
        draft = Assistant(
            **{name: cleaned[name] for name in DEFINITION_FIELDS},
            remote_id="" if self.moved else instance.remote_id,
        )
        try:
            # Remote first: if the provider refuses, the form shows why and nothing is saved.
            self.remote_id = assistant_push_remote(
                provider=draft.provider,
                protocol=draft.protocol,
                definition=assistant_definition(draft),
            )
        except ProviderError as exc:
            raise ValidationError(f"The provider refused this assistant: {exc}") from exc
        return cleaned


class ImportAssistantForm(forms.Form):
    provider = forms.ChoiceField(choices=Assistant.Provider.choices)
    protocol = forms.ChoiceField(
        choices=Assistant.Protocol.choices, initial=Assistant.Protocol.ASSISTANTS
    )
    remote_id = forms.CharField(label="Remote assistant id", max_length=256)


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    form = AssistantAdminForm
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
            assistant_moved(assistant=obj)

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
    readonly_fields = ["owner", "assistant", "remote_thread_id", "created_at", "updated_at"]
    inlines = [MessageInline]
