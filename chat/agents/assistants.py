"""The `assistants` protocol: Assistants API v2 (assistant, thread, streamed run)."""

import warnings
from collections.abc import AsyncIterator

import httpx2
import openai

from chat.tools import registry

from .base import Agent
from .definition import PROVIDER_TOOLS, AssistantDefinition, ToolResources
from .errors import provider_error_from, provider_errors
from .events import (
    AgentResponseItem,
    Cancelled,
    Completed,
    Failed,
    Incomplete,
    OutputFile,
    RunStarted,
    ToolStep,
)
from .provider_tools import ReplySources, assistants_message_delta, assistants_step
from .threads import AgentThread, AssistantAgentThread
from .tool_calls import (
    MAX_TOOL_ROUNDS,
    TOOL_LIMIT_REASON,
    ToolCall,
    call_step,
    run_tool_calls,
    site_tools_of,
)

# This protocol exists for servers that still speak the Assistants API (the local provider
# among them); the SDK's deprecation warning on every call says nothing new here.
warnings.filterwarnings("ignore", "The Assistants API is deprecated", DeprecationWarning)
warnings.filterwarnings("ignore", "deprecated$", DeprecationWarning, module=r"chat\.agents")

CUT_STREAM_REASON = "The provider closed the stream before the reply finished."
# Without it a run step's file_search results carry no text, and citations no quote.
FILE_SEARCH_INCLUDE = ["step_details.tool_calls[*].file_search.results[*].content"]
# What cancelling a run or response that has already ended answers.
ENDED_ERRORS = (openai.NotFoundError, openai.BadRequestError, openai.ConflictError)
STEP_EVENTS = (
    "thread.run.step.created",
    "thread.run.step.completed",
    "thread.run.step.failed",
    "thread.run.step.cancelled",
    "thread.run.step.expired",
)


def _knowledge_store(remote) -> str:
    search = remote.tool_resources.file_search if remote.tool_resources else None
    stores = (search.vector_store_ids if search else None) or []
    return stores[0] if stores else ""


def _definition_from(remote) -> AssistantDefinition:
    tools = [tool.model_dump(exclude_none=True) for tool in remote.tools]
    offered = {tool.get("type") for tool in tools}
    # Functions this site has registered become chosen tools again; the rest stay as they are.
    function_tools = tuple(
        tool["function"]["name"]
        for tool in tools
        if tool.get("type") == "function" and tool["function"]["name"] in registry
    )
    return AssistantDefinition(
        name=remote.name or remote.id,
        model=remote.model,
        instructions=remote.instructions or "",
        description=remote.description or "",
        tools=[
            tool
            for tool in tools
            if not (tool.get("type") == "function" and tool["function"]["name"] in function_tools)
            and tool.get("type") not in PROVIDER_TOOLS
        ],
        remote_id=remote.id,
        function_tools=function_tools,
        file_search="file_search" in offered,
        code_interpreter="code_interpreter" in offered,
        knowledge_vector_store_id=_knowledge_store(remote),
    )


def _remote_fields(definition: AssistantDefinition) -> dict:
    fields = {
        "model": definition.model,
        "name": definition.name,
        "instructions": definition.instructions,
        "description": definition.description or None,
        "tools": definition.assistants_tools(),
    }
    if (resources := definition.assistants_tool_resources()) is not None:
        fields["tool_resources"] = resources
    return fields


def _thread_resources(definition: AssistantDefinition, resources: ToolResources | None) -> dict:
    """The conversation's own files, set on its thread (the assistant holds its knowledge)."""
    if resources is None:
        return {}
    fields = {}
    if definition.file_search and resources.vector_store_ids:
        fields["file_search"] = {"vector_store_ids": list(resources.vector_store_ids)}
    if definition.code_interpreter and resources.code_file_ids:
        fields["code_interpreter"] = {"file_ids": list(resources.code_file_ids)}
    return fields


class _RequiresAction(Exception):
    """The run waits for tool outputs: the stream pauses here."""

    def __init__(self, run_id: str, calls: list[ToolCall]):
        self.run_id = run_id
        self.calls = calls


class OpenAIAssistantAgent(Agent):
    """Like Semantic Kernel's `OpenAIAssistantAgent`, over `openai.AsyncOpenAI`."""

    thread_class = AssistantAgentThread

    @classmethod
    async def create(cls, *, client, definition):
        async with provider_errors():
            remote = await client.beta.assistants.create(**_remote_fields(definition))
        return cls(client=client, definition=_definition_from(remote))

    @classmethod
    async def retrieve(cls, *, client, remote_id):
        async with provider_errors():
            remote = await client.beta.assistants.retrieve(remote_id)
        return cls(client=client, definition=_definition_from(remote))

    async def update(self, definition):
        async with provider_errors():
            remote = await self.client.beta.assistants.update(self.id, **_remote_fields(definition))
        self.definition = _definition_from(remote)

    async def delete(self):
        # Already gone (404): the goal of deleting is reached.
        async with provider_errors(ignore=(openai.NotFoundError,)):
            await self.client.beta.assistants.delete(self.id)

    async def invoke_stream(
        self,
        messages: str | list[str],
        thread: AgentThread | None = None,
        *,
        resources: ToolResources | None = None,
    ) -> AsyncIterator[AgentResponseItem]:
        thread = thread or self.thread()
        if thread.id is None:
            await thread.create()
        run_options = {"include": FILE_SEARCH_INCLUDE} if self.definition.file_search else {}
        site_tools = site_tools_of(resources)
        if site_tools is not None:
            # Chosen in the database, not stored on the provider's assistant: this run's
            # tools are the assistant's own and these (a run's `tools` replace the list).
            run_options["tools"] = self.definition.assistants_tools() + site_tools.schemas()
        async with provider_errors():
            if tool_resources := _thread_resources(self.definition, resources):
                await self.client.beta.threads.update(thread.id, tool_resources=tool_resources)
            for text in [messages] if isinstance(messages, str) else messages:
                await self.client.beta.threads.messages.create(thread.id, role="user", content=text)
            stream = await self.client.beta.threads.runs.create(
                thread_id=thread.id, assistant_id=self.id, stream=True, **run_options
            )
        shown: dict[str, str | None] = {}  # tool step id -> output already reported
        sources = ReplySources()
        for rounds in range(MAX_TOOL_ROUNDS + 1):
            try:
                async for event in self._events(stream, sources):
                    if isinstance(event, ToolStep):
                        if event.id in shown and shown[event.id] == event.output:
                            continue  # a step we ran ourselves, reported again by the run
                        shown[event.id] = event.output
                    yield AgentResponseItem(event, thread)
                return
            except _RequiresAction as action:
                calls, run_id = action.calls, action.run_id
            finally:
                await stream.close()
            if rounds == MAX_TOOL_ROUNDS:
                await self.cancel(thread=thread, run_id=run_id)
                yield AgentResponseItem(Failed(TOOL_LIMIT_REASON, code="tool_limit"), thread)
                return
            for call in calls:
                shown[call.id] = None
                yield AgentResponseItem(call_step(call, None, tools=site_tools), thread)
            outputs = await run_tool_calls(calls, self.definition, tools=site_tools)
            for call, output in zip(calls, outputs, strict=True):
                shown[call.id] = output
                yield AgentResponseItem(call_step(call, None, output, site_tools), thread)
            async with provider_errors():
                stream = await self.client.beta.threads.runs.submit_tool_outputs(
                    run_id,
                    thread_id=thread.id,
                    tool_outputs=[
                        {"tool_call_id": call.id, "output": output}
                        for call, output in zip(calls, outputs, strict=True)
                    ],
                    stream=True,
                )

    async def _events(self, stream, sources: ReplySources) -> AsyncIterator:
        """The run's normalised events up to a terminal one, or `_RequiresAction`."""
        try:
            async for event in stream:
                if event.event == "thread.run.requires_action":
                    run = event.data
                    raise _RequiresAction(
                        run.id,
                        [
                            ToolCall(call.id, call.function.name, call.function.arguments)
                            for call in run.required_action.submit_tool_outputs.tool_calls
                        ],
                    )
                for item in self._normalise(event, sources):
                    if isinstance(item, OutputFile) and not item.filename:
                        item = OutputFile(item.file_id, await self._filename(item.file_id))
                    yield item
                    if isinstance(item, Completed | Cancelled | Incomplete | Failed):
                        return
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            # A broken connection or a timeout mid-stream: what arrived is kept by the caller.
            yield Incomplete(str(provider_error_from(exc)))
            return
        yield Incomplete(CUT_STREAM_REASON)

    async def _filename(self, file_id: str) -> str:
        """The name of a file the code interpreter made (an image block gives only its id)."""
        try:
            return (await self.client.files.retrieve(file_id)).filename or f"{file_id}.png"
        except openai.OpenAIError:
            return f"{file_id}.png"  # the blocks that give no name are images

    @staticmethod
    def _normalise(event, sources: ReplySources) -> list:
        kind = event.event
        data = event.data
        if kind == "thread.run.created":
            return [RunStarted(data.id)]
        if kind == "thread.message.delta":
            return assistants_message_delta(data.delta, sources)
        if kind in STEP_EVENTS:
            events = assistants_step(data, sources)
            if kind == "thread.run.step.completed" and data.step_details.type == "tool_calls":
                events += [
                    ToolStep(
                        call.id, call.function.name, call.function.arguments, call.function.output
                    )
                    for call in data.step_details.tool_calls
                    if call.type == "function"
                ]
            return events
        if kind == "thread.run.completed":
            usage = data.usage.model_dump() if data.usage else {}
            return [Completed(usage=usage)]
        if kind == "thread.run.cancelled":
            return [Cancelled()]
        if kind == "thread.run.failed":
            error = data.last_error
            reason = error.message if error else "The run failed on the provider."
            return [
                Failed(
                    f"The assistant's run failed: {reason}",
                    code=error.code if error else "provider_error",
                )
            ]
        if kind == "thread.run.expired":
            return [Failed("The assistant's run expired before it finished.", code="expired")]
        if kind == "thread.run.incomplete":
            return [Incomplete("The provider ended the reply early.")]
        if kind == "error":
            return [Failed(f"The provider reported an error: {getattr(data, 'message', data)}")]
        return []

    async def cancel(self, *, thread, run_id):
        # Refused because the run already ended: nothing left to cancel.
        async with provider_errors(ignore=ENDED_ERRORS):
            await self.client.beta.threads.runs.cancel(run_id, thread_id=thread.id)
