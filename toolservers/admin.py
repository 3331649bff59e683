"""Staff screens for MCP servers, and the MCP tools on the assistant's page.

The header field is write-only for secrets, as a connection's (chat.admin): a bearer token
typed here is stored encrypted and shows masked afterwards. "Refresh tools" (an action, and a
button on the server's page) asks the server for its tools; the page shows what it found or
why it failed. stdio servers come from settings: the admin can refresh them, never add one.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.utils.html import format_html, format_html_join

from chat.admin import MASKED, AssistantAdmin, _headers_parsed, _headers_text

from .models import AssistantMcpTool, McpServer, ToolApproval
from .services.choices import mcp_tool_choices
from .services.servers import mcp_server_refresh, mcp_server_save


class McpServerAdminForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=McpServer._meta.get_field("url").help_text,
    )
    headers_text = forms.CharField(
        label="Headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="One a line: <code>Authorization: Bearer …</code> stores the value encrypted "
        f"(shown as {MASKED} afterwards, never again in clear); <code>Name=ENV_VAR</code> "
        "sends the variable's value. These are the site's credentials for the server, the "
        "same for every user.",
    )

    class Meta:
        model = McpServer
        fields = ["name", "url", "headers_text", "timeout", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["headers_text"].initial = _headers_text(self.instance.headers)
        self.fields["url"].required = self.instance.transport == McpServer.Transport.HTTP

    def clean_headers_text(self):
        return _headers_parsed(self.cleaned_data.get("headers_text") or "")


@admin.register(McpServer)
class McpServerAdmin(admin.ModelAdmin):
    form = McpServerAdminForm
    list_display = ["name", "transport", "url", "enabled", "tool_count", "refreshed_at", "status"]
    readonly_fields = ["transport", "tool_list", "refresh_error", "refreshed_at"]
    actions = ["refresh_tools"]
    search_fields = ["name", "url"]

    @admin.display(description="Tools")
    def tool_count(self, obj):
        return len(obj.tools or [])

    @admin.display(description="Last refresh")
    def status(self, obj):
        if obj.refresh_error:
            return "failed"
        return "ok" if obj.refreshed_at else "never refreshed"

    @admin.display(description="Tools found")
    def tool_list(self, obj):
        if not obj.tools:
            return "None yet: save, then press Refresh tools."
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}</strong>{} - {}<br><code>{}</code></li>",
                (
                    (
                        tool["name"],
                        " (read-only)" if tool.get("annotations", {}).get("readOnlyHint") else "",
                        tool.get("description") or "(no description)",
                        ", ".join(tool.get("input_schema", {}).get("properties", {})) or "-",
                    )
                    for tool in obj.tools
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        try:
            mcp_server_save(server=obj, headers=form.cleaned_data.get("headers_text", {}))
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)

    def response_change(self, request, obj):
        if "_refresh" in request.POST:
            self._refresh(request, obj)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def _refresh(self, request, server):
        server = mcp_server_refresh(server=server)
        if server.refresh_error:
            self.message_user(request, server.refresh_error, messages.ERROR)
        else:
            self.message_user(
                request, f"{server.name}: {len(server.tools)} tool(s) found.", messages.SUCCESS
            )

    @admin.action(description="Refresh tools")
    def refresh_tools(self, request, queryset):
        for server in queryset:
            self._refresh(request, server)


class AssistantMcpToolForm(forms.ModelForm):
    choice = forms.ChoiceField(label="Tool", choices=())

    class Meta:
        model = AssistantMcpTool
        fields = ["choice", "approval"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = mcp_tool_choices()
        if self.instance.pk:
            current = f"{self.instance.server.name}:{self.instance.tool}"
            self.fields["choice"].initial = current
            if current not in dict(choices):
                choices.append((current, f"{current} (no longer listed by its server)"))
        self.fields["choice"].choices = [("", "---------"), *choices]

    def clean(self):
        cleaned = super().clean()
        spec = cleaned.get("choice") or ""
        server_name, _, tool = spec.partition(":")
        server = McpServer.objects.filter(name=server_name).first()
        if server is None:
            raise ValidationError("Choose a tool.")
        self.instance.server, self.instance.tool = server, tool
        return cleaned


class OptionalInlineFormSet(BaseInlineFormSet):
    """A POST of the assistant without this inline (a script, a form from before this app)
    leaves its MCP tools as they are, instead of failing on the missing management form."""

    def __init__(self, data=None, files=None, *args, **kwargs):
        prefix = kwargs.get("prefix") or self.get_default_prefix()
        if data is not None and f"{prefix}-TOTAL_FORMS" not in data:
            data = data.copy()
            data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
        super().__init__(data, files, *args, **kwargs)


class AssistantMcpToolInline(admin.TabularInline):
    model = AssistantMcpTool
    form = AssistantMcpToolForm
    formset = OptionalInlineFormSet
    extra = 1
    verbose_name = "MCP tool"
    verbose_name_plural = "MCP tools (refresh a server to list its tools; approval: when a call "
    "waits for the user)"


# The assistant's page shows its MCP tools next to its function tools. Added from here so
# that chat knows nothing of this app's tables.
if AssistantMcpToolInline not in AssistantAdmin.inlines:
    AssistantAdmin.inlines = [*AssistantAdmin.inlines, AssistantMcpToolInline]


@admin.register(ToolApproval)
class ToolApprovalAdmin(admin.ModelAdmin):
    """What users approved or denied: read-only, a record."""

    list_display = ["created_at", "server_name", "tool", "status", "decided_by", "message"]
    list_filter = ["status", "server_name"]
    readonly_fields = [f.name for f in ToolApproval._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
