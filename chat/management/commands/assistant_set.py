"""`manage.py assistant_set NAME --connection C --protocol P [--groups G1,G2 | --everyone]
[--mcp-tools SERVER:TOOL,... --approve never|always|writes] [--icon X]
[--starter-prompts "a|b|c"]`: an assistant kept in code, who may use it (organisation.access),
the MCP tools it offers (toolservers) and what the chat page shows of it."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chat.agents import ProviderError
from chat.models import Assistant
from chat.services.assistants import assistant_presentation_set, assistant_set
from chat.services.connections import connection_named
from chat.services.refusals import Refused
from organisation.services.settings import assistant_access_set
from toolservers.models import AssistantMcpTool
from toolservers.services.choices import assistant_mcp_tools_set


def thread_of(assistant: Assistant) -> str:
    if assistant.protocol != Assistant.Protocol.RESPONSES:
        return ""
    return f", thread {assistant.responses_thread}"


class Command(BaseCommand):
    help = (
        "Creates or updates the assistant NAME on a connection, storing its definition on the "
        "provider where the protocol keeps one (the provider refusing changes nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--connection", help="Required with --protocol, unless only access is changed."
        )
        parser.add_argument("--protocol", choices=Assistant.Protocol.values)
        parser.add_argument("--model", help="Default: the connection's default model.")
        parser.add_argument("--instructions")
        parser.add_argument(
            "--thread",
            choices=Assistant.ResponsesThread.values,
            help="Where a `responses` thread lives (provider_check recommends one).",
        )
        parser.add_argument(
            "--context-budget",
            type=int,
            help="Tokens of transcript sent per turn where this site holds the thread.",
        )
        parser.add_argument(
            "--mcp-tools",
            metavar="SERVER:TOOL,...",
            help="The MCP tools it offers (from the servers' cached lists; '' for none).",
        )
        parser.add_argument(
            "--approve",
            choices=AssistantMcpTool.Approval.values,
            help="When its MCP tools' calls wait for the user: never, always, or writes (tools "
            "the server does not mark read-only). Default: writes.",
        )
        parser.add_argument("--icon", help="An emoji or up to two letters ('' clears it).")
        parser.add_argument(
            "--starter-prompts",
            metavar="'A|B|C'",
            help="Prompts shown as cards on a new chat, separated by | ('' clears them).",
        )
        who = parser.add_mutually_exclusive_group()
        who.add_argument(
            "--groups",
            metavar="G1,G2",
            help="Offer it only to these Django groups (created if missing).",
        )
        who.add_argument("--everyone", action="store_true", help="Offer it to every user.")

    def handle(
        self,
        *args,
        name,
        connection,
        protocol,
        model,
        instructions,
        thread,
        context_budget,
        groups,
        everyone,
        mcp_tools=None,
        approve=None,
        icon=None,
        starter_prompts=None,
        **options,
    ):
        presentation = icon is not None or starter_prompts is not None
        access = groups is not None or everyone
        tools = mcp_tools is not None or approve is not None
        if connection is None and protocol is None and (access or presentation or tools):
            assistant = Assistant.objects.filter(name=name).first()
            if assistant is None:
                raise CommandError(f"No assistant {name!r}: give --connection and --protocol.")
            if presentation:
                self._set_presentation(assistant, icon, starter_prompts)
            if access:
                self._set_access(assistant, groups, everyone)
            self._set_mcp_tools(assistant, mcp_tools, approve)
            return
        if connection is None or protocol is None:
            raise CommandError("--connection and --protocol are required.")
        try:
            assistant, created = assistant_set(
                name=name,
                connection=connection_named(connection),
                protocol=protocol,
                model=model,
                instructions=instructions,
                responses_thread=thread,
                context_budget=context_budget,
            )
        except (Refused, ProviderError) as exc:
            raise CommandError(f"Assistant {name!r} not saved: {exc}") from None
        except ValidationError as exc:
            raise CommandError(f"Assistant {name!r} not saved: {'; '.join(exc.messages)}") from None
        where = f", remote id {assistant.remote_id}" if assistant.remote_id else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Created' if created else 'Updated'} assistant {assistant.name} on "
                f"{assistant.connection.name} ({assistant.protocol}{thread_of(assistant)}{where})."
            )
        )
        if presentation:
            self._set_presentation(assistant, icon, starter_prompts)
        if access:
            self._set_access(assistant, groups, everyone)
        self._set_mcp_tools(assistant, mcp_tools, approve)

    def _set_mcp_tools(self, assistant: Assistant, tools: str | None, approve: str | None):
        if tools is None and approve is None:
            return
        if tools is None:
            specs = [f"{c.server.name}:{c.tool}" for c in assistant.mcp_tools.all()]
        else:
            specs = [spec.strip() for spec in tools.split(",") if spec.strip()]
        try:
            chosen = assistant_mcp_tools_set(assistant=assistant, tools=specs, approval=approve)
        except ValidationError as exc:
            raise CommandError(f"MCP tools not set: {'; '.join(exc.messages)}") from None
        listed = ", ".join(f"{c} (approve: {c.approval})" for c in chosen) or "none"
        self.stdout.write(self.style.SUCCESS(f"Assistant {assistant.name} MCP tools: {listed}."))

    def _set_presentation(self, assistant: Assistant, icon, starter_prompts) -> None:
        prompts = None if starter_prompts is None else starter_prompts.split("|")
        try:
            assistant_presentation_set(assistant=assistant, icon=icon, starter_prompts=prompts)
        except ValidationError as exc:
            raise CommandError(f"Assistant {assistant.name!r}: {'; '.join(exc.messages)}") from None
        shown = ", ".join(assistant.starter_prompts) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Assistant {assistant.name}: icon {assistant.icon or '(its first letter)'}, "
                f"starter prompts: {shown}."
            )
        )

    def _set_access(self, assistant: Assistant, groups: str | None, everyone: bool) -> None:
        names = [g.strip() for g in (groups or "").split(",") if g.strip()]
        if not everyone and not names:
            raise CommandError("--groups needs at least one group name.")
        assistant_access_set(assistant=assistant, everyone=everyone, group_names=names)
        who = "everyone" if everyone else "the groups " + ", ".join(names)
        self.stdout.write(self.style.SUCCESS(f"Assistant {assistant.name} is offered to {who}."))
