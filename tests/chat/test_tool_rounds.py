"""A model that never stops calling tools: both protocols bound the rounds of one reply.
The local model calls tools only for the user's `call` lines, so a scripted client stands in
for the provider here."""

from types import SimpleNamespace as Obj

from chat.agents import AssistantDefinition, agent_class
from chat.agents.events import Completed, Failed, TextDelta, ToolStep
from chat.agents.responses import TOOL_LIMIT_OUTPUT
from chat.agents.tool_calls import MAX_TOOL_ROUNDS

CALL = '{"expression": "1 + 1"}'


class Stream:
    def __init__(self, events):
        self.events = events
        self.closed = False

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        for event in self.events:
            yield event

    async def close(self):
        self.closed = True


def definition() -> AssistantDefinition:
    return AssistantDefinition(
        name="Loop", model="m", function_tools=("calculator",), remote_id="asst_1"
    )


class LoopingResponses:
    """Calls the calculator in every response, unless told `tool_choice="none"` (and then
    only if `obey` is true)."""

    def __init__(self, *, obey: bool):
        self.obey = obey
        self.requests: list[dict] = []

    async def create(self, **request):
        self.requests.append(request)
        number = len(self.requests)
        created = Obj(type="response.created", response=Obj(id=f"resp_{number}"))
        if request.get("tool_choice") == "none" and self.obey:
            done = Obj(
                type="response.completed",
                response=Obj(output=[Obj(type="message")], usage=None),
            )
            delta = Obj(type="response.output_text.delta", delta="Done.")
            return Stream([created, delta, done])
        call = Obj(
            type="function_call", call_id=f"call_{number}", name="calculator", arguments=CALL
        )
        return Stream(
            [
                created,
                Obj(type="response.output_item.done", item=call),
                Obj(type="response.completed", response=Obj(output=[call], usage=None)),
            ]
        )


class ConversationItems:
    def __init__(self):
        self.created = []

    async def create(self, conversation_id, *, items):
        self.created.append((conversation_id, items))


def responses_client(*, obey: bool):
    return Obj(
        responses=LoopingResponses(obey=obey),
        conversations=Obj(items=ConversationItems()),
    )


async def invoke(agent_cls, client, thread_id):
    agent = agent_cls(client=client, definition=definition())
    thread = agent.thread(thread_id)
    return [item.event async for item in agent.invoke_stream("go", thread=thread)]


async def test_responses_stop_offering_tools_after_the_last_allowed_round():
    client = responses_client(obey=True)

    events = await invoke(agent_class("responses"), client, "conv_1")

    requests = client.responses.requests
    assert len(requests) == MAX_TOOL_ROUNDS + 1
    assert all("tool_choice" not in r for r in requests[:-1])
    assert requests[-1]["tool_choice"] == "none"
    outputs = [e.output for e in events if isinstance(e, ToolStep) and e.output]
    assert outputs == ["2"] * (MAX_TOOL_ROUNDS - 1) + [TOOL_LIMIT_OUTPUT]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Done."]
    assert isinstance(events[-1], Completed)


async def test_responses_fail_readably_when_the_model_ignores_the_limit():
    client = responses_client(obey=False)

    events = await invoke(agent_class("responses"), client, "conv_1")

    assert isinstance(events[-1], Failed) and events[-1].code == "tool_limit"
    assert f"more than {MAX_TOOL_ROUNDS} times" in events[-1].reason
    # The last calls got outputs, so the conversation can take the next message.
    [(conversation, items)] = client.conversations.items.created
    assert conversation == "conv_1"
    assert items == [
        {
            "type": "function_call_output",
            "call_id": f"call_{MAX_TOOL_ROUNDS + 1}",
            "output": TOOL_LIMIT_OUTPUT,
        }
    ]


class LoopingRuns:
    """A run that asks for the calculator after every submission."""

    def __init__(self):
        self.submitted: list[list[dict]] = []
        self.cancelled: list[str] = []

    def _requires_action(self):
        call = Obj(
            id=f"call_{len(self.submitted)}", function=Obj(name="calculator", arguments=CALL)
        )
        run = Obj(
            id="run_1",
            required_action=Obj(submit_tool_outputs=Obj(tool_calls=[call])),
        )
        return Obj(event="thread.run.requires_action", data=run)

    async def create(self, **request):
        return Stream(
            [Obj(event="thread.run.created", data=Obj(id="run_1")), self._requires_action()]
        )

    async def submit_tool_outputs(self, run_id, *, thread_id, tool_outputs, stream):
        self.submitted.append(tool_outputs)
        return Stream([self._requires_action()])

    async def cancel(self, run_id, *, thread_id):
        self.cancelled.append(run_id)


async def test_assistant_runs_are_cancelled_after_too_many_rounds():
    runs = LoopingRuns()

    async def add_message(thread_id, **message):
        pass

    client = Obj(beta=Obj(threads=Obj(runs=runs, messages=Obj(create=add_message))))

    events = await invoke(agent_class("assistants"), client, "thread_1")

    assert len(runs.submitted) == MAX_TOOL_ROUNDS
    assert all(outputs[0]["output"] == "2" for outputs in runs.submitted)
    assert runs.cancelled == ["run_1"]  # the run does not hold the thread until it expires
    assert isinstance(events[-1], Failed) and events[-1].code == "tool_limit"
