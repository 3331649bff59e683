"""Streams one reply from the provider into the database and to every socket showing it.

The runner listens on a channel of its own (recorded on the reply) so that Stop and late
joiners reach it from any process. Deltas are coalesced: sockets get at most one frame per
CHAT_BROADCAST_INTERVAL; the database gets the text so far once per CHAT_REPLY_SAVE_INTERVAL,
in one write for all the replies streaming in the process (reply_progress.py). With Redis,
each frame's text is also kept there as it is published, so that the sweep closing the reply of
a killed process keeps all that the sockets were shown (streamed_text.py).

With file search or the code interpreter on, the runner also hands the agent the
conversation's files (on the provider, or the site's search of them), keeps the reply's
citations, copies the files the code interpreter made to the site, and deletes
the code's containers once the reply is over.
"""

import asyncio
import dataclasses
import logging
from contextlib import aclosing

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from chat.agents import ProviderError, ToolResources
from chat.agents.events import (
    Cancelled,
    Citation,
    Completed,
    Failed,
    Incomplete,
    OutputFile,
    RunStarted,
    TextDelta,
    ToolStep,
)
from chat.agents.history import HistoryMessage
from chat.models import Conversation, Message, Upload
from chat.prepared_statements import PreparedUpdate
from chat.presenters import (
    amessage_payload,
    conversation_payload,
    message_payload,
    messages_without_files,
    output_file_payload,
)
from organisation.services.usage import usage_finish
from toolservers.toolbox import turn_toolbox

from .assistants import assistant_agent, assistant_ensure_remote
from .database_retry import DATABASE_ERRORS, adatabase_retrying
from .events import conversation_group, publish, publish_retrying, user_group
from .remote_cleanup import Kind, RemoteObject, aremote_objects_delete
from .reply_files import output_file_copy, reply_citation_payload
from .reply_progress import reply_progress
from .streamed_text import streamed_text_for
from .titles import conversation_sidebar_refresh, conversation_title_generate
from .tool_resources import conversation_tool_resources

logger = logging.getLogger(__name__)

Status = Message.Status
REMOTE_CANCEL_TIMEOUT = 10.0
CONTAINER_DELETE_TIMEOUT = 30.0
# After a delta could not be published (Redis away), the next attempt waits this long; the
# text keeps arriving and being saved meanwhile, and goes out in one frame.
FANOUT_RETRY_INTERVAL = 0.5
# The writes of every reply's end (chat.prepared_statements: built once).
_REPLY_END = PreparedUpdate(Message)
_CONVERSATION_TIME = PreparedUpdate(Conversation)


class TurnRunner:
    def __init__(self, start):
        self.conversation: Conversation = start.conversation
        self.reply: Message = start.reply
        self.text: str = start.user_message.content
        self.user_message_id: int = start.user_message.pk
        # A new conversation: nothing before this turn, and this reply is its first.
        self.first_turn: bool = start.conversation_created
        self.offers_tools: bool = start.offers_tools
        self.files_saved = 0  # output files copied to the site for this reply
        self.group = conversation_group(self.conversation.pk)
        self.layer = get_channel_layer()
        self.content = ""
        self.sent = 0  # characters of `content` already broadcast
        self.tool_steps: list[dict] = []
        self.citations: list[dict] = []
        self.containers: list[str] = []  # Responses API containers the code ran in
        self.run_id = ""
        self.usage: dict = {}  # {"input_tokens", "output_tokens"}, as the provider reported
        self.model = ""
        self.thread = None
        self.agent = None
        self.toolbox = None  # the assistant's MCP tools (toolservers), where it has any
        self.stop_requested = False
        # Why the process ended the reply (a drain), when it did: the reply is incomplete.
        self.interrupted_because = ""
        self.fanout_down_until = 0.0
        self.send_lock = asyncio.Lock()
        self.loop = asyncio.get_running_loop()
        self.last_broadcast = 0.0
        self.flush_timer: asyncio.TimerHandle | None = None
        self.stream_task: asyncio.Task | None = None
        self.flush_task: asyncio.Task | None = None
        self.progress = reply_progress()
        self.streamed = streamed_text_for(self.layer, self.reply.pk, self.loop)

    async def run(self) -> None:
        status, error = Status.FAILED, "The reply could not start."
        # The default prefix, like every consumer's channel: channels_redis receives all of a
        # process's channels through one blocking pop on that prefix, and a channel under
        # another prefix would hold that pop, so no socket in the process would get a frame
        # until this reply ended.
        # Made and saved with the reply when a socket started the turn (turns.turn_save).
        self.channel = self.reply.runner_channel or await self.layer.new_channel()
        listener = asyncio.create_task(self._listen())
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            if not self.reply.runner_channel:
                await adatabase_retrying(
                    lambda: Message.objects.filter(pk=self.reply.pk).aupdate(
                        status=Status.STREAMING,
                        runner_channel=self.channel,
                        updated_at=timezone.now(),
                    ),
                    what=f"start reply {self.reply.pk}",
                )
            self.stream_task = asyncio.create_task(self._stream())
            if self.stop_requested:  # a Stop came before there was a stream to cancel
                self.stream_task.cancel()
            status, error = await self.stream_task
        except asyncio.CancelledError:
            status, error = Status.CANCELLED, ""
            if self.interrupted_because:
                status = Status.INCOMPLETE if self.content else Status.FAILED
                error = self.interrupted_because
        except ProviderError as exc:
            status, error = (Status.INCOMPLETE if self.content else Status.FAILED), str(exc)
        except Exception:
            logger.exception("Reply %s failed", self.reply.pk)
            status = Status.INCOMPLETE if self.content else Status.FAILED
            error = "An unexpected error ended the reply; it has been logged."
        finally:
            listener.cancel()
            heartbeat.cancel()
            if self.flush_timer:
                self.flush_timer.cancel()
        # Shielded: a shutdown that cancels this task must not leave the reply "streaming".
        await asyncio.shield(self._finish(status, error))

    async def _stream(self) -> tuple[str, str]:
        await assistant_ensure_remote(self.conversation.assistant)
        assistant = self.conversation.assistant
        self.agent = assistant_agent(assistant)
        self.model = self.agent.definition.model
        if self.agent.thread_class.site_held:
            self.thread = self.agent.thread(history=await self._history())
        else:
            self.thread = self.agent.thread(self.conversation.remote_thread_id or None)
        resources = None
        if assistant.file_search or assistant.code_interpreter:
            resources = await conversation_tool_resources(conversation=self.conversation)
        if self.offers_tools:
            self.toolbox = await turn_toolbox(
                assistant_id=assistant.pk,
                reply_id=self.reply.pk,
                conversation_id=self.conversation.pk,
                owner_id=self.conversation.owner_id,
                on_step=self._tool_step,
            )
        if self.toolbox is not None:
            resources = dataclasses.replace(resources or ToolResources(), site_tools=self.toolbox)
        text = self.text if self.text.strip() else await self._files_only_text()
        stream = self.agent.invoke_stream(text, thread=self.thread, resources=resources)
        async with aclosing(stream) as items:
            async for item in items:
                await self._record_thread()
                event = item.event
                if isinstance(event, TextDelta):
                    self.content += event.text
                    await self._delta_arrived()
                elif isinstance(event, RunStarted):
                    self.run_id = event.run_id
                elif isinstance(event, ToolStep):
                    await self._tool_step(event)
                elif isinstance(event, Citation):
                    await self._citation(event)
                elif isinstance(event, OutputFile):
                    await self._output_file(event)
                elif isinstance(event, Completed):
                    self.usage = event.usage
                    self.model = event.model or self.model
                    return Status.COMPLETE, ""
                elif isinstance(event, Cancelled):
                    return Status.CANCELLED, ""
                elif isinstance(event, Incomplete):
                    return (Status.INCOMPLETE if self.content else Status.FAILED), event.reason
                elif isinstance(event, Failed):
                    return Status.FAILED, event.reason
        return (
            Status.INCOMPLETE if self.content else Status.FAILED,
            "The provider ended the stream without finishing the reply.",
        )

    async def _history(self) -> list[HistoryMessage]:
        """The messages before this turn's, for a thread the site holds: what the transcript
        shows now, so a regenerate or an edit sends exactly the messages that remain."""
        if self.first_turn:
            return []
        messages = Message.objects.filter(
            conversation_id=self.conversation.pk, pk__lt=self.user_message_id
        ).order_by("pk")
        history = []
        async for role, content in messages.values_list("role", "content"):
            if role == Message.Role.USER:
                history.append(HistoryMessage(role, content or "(attached files)"))
            elif content.strip():
                history.append(HistoryMessage(role, content))
        return history

    async def _files_only_text(self) -> str:
        """What a message of files alone says to the model: real providers refuse an empty
        message, and the names tell the model what to look at."""
        names = [
            name
            async for name in Upload.objects.filter(message_id=self.user_message_id)
            .order_by("pk")
            .values_list("name", flat=True)
        ]
        return "Attached: " + ", ".join(names) if names else "(no text)"

    async def _record_thread(self) -> None:
        """Remembers a thread the agent created, so the next turn continues it."""
        thread_id = self.thread.id if self.thread else None
        if thread_id and thread_id != self.conversation.remote_thread_id:
            self.conversation.remote_thread_id = thread_id
            await adatabase_retrying(
                lambda: Conversation.objects.filter(pk=self.conversation.pk).aupdate(
                    remote_thread_id=thread_id
                ),
                what=f"record the thread of conversation {self.conversation.pk}",
            )

    def interrupt(self, reason: str) -> None:
        """Ends the reply now as incomplete (or failed when no text came), with `reason`."""
        self.interrupted_because = reason
        if self.stream_task:
            self.stream_task.cancel()

    # --- Relaying -------------------------------------------------------------------------

    async def _delta_arrived(self) -> None:
        due = self._next_broadcast_at()
        if self.streamed is not None and self.flush_task and not self.flush_task.done():
            pass  # a publish is under way: what arrives meanwhile goes right after it
        elif self.loop.time() >= due:
            if self.streamed is None:
                await self._broadcast()  # the in-memory layer: a publish never waits
            else:
                # Redis: a publish is a round trip, which under load takes tens of ms. Awaited
                # here, it held the stream up (deltas 20 ms apart were read once per publish,
                # and the reply fell behind its source by a second); in a task of its own,
                # the stream is read on and what arrives meanwhile goes in the next frame.
                self.flush_task = asyncio.create_task(self._broadcast_then_follow())
        elif self.flush_timer is None:
            # Deltas closer together than the interval wait for this one flush.
            self.flush_timer = self.loop.call_at(due, self._flush_later)
        # Written with every other streaming reply, once per CHAT_REPLY_SAVE_INTERVAL, and
        # never awaited here: the relay does not wait for the database.
        self.progress.note(self.reply.pk, self.content)

    def _next_broadcast_at(self) -> float:
        return max(self.last_broadcast + settings.CHAT_BROADCAST_INTERVAL, self.fanout_down_until)

    def _flush_later(self) -> None:
        self.flush_timer = None
        self.flush_task = asyncio.create_task(self._broadcast_then_follow())

    async def _broadcast_then_follow(self) -> None:
        await self._broadcast()
        # Text that arrived during the publish follows it, as soon as the interval allows.
        if self.sent < len(self.content) and self.flush_timer is None:
            self.flush_timer = self.loop.call_at(self._next_broadcast_at(), self._flush_later)

    async def _broadcast(self) -> None:
        # The lock keeps frames in offset order even when a timer flush and an inline send
        # overlap: a client drops a frame whose offset is past its text.
        async with self.send_lock:
            if self.sent == len(self.content):
                return
            offset, self.sent = self.sent, len(self.content)
            self.last_broadcast = self.loop.time()
            delivered = await self._publish_text(
                {
                    "type": "message.delta",
                    "conversation_id": self.conversation.pk,
                    "message_id": self.reply.pk,
                    "offset": offset,
                    "text": self.content[offset : self.sent],
                },
            )
            if not delivered:
                # Sent again from the same offset once the layer is back; the sockets that
                # got nothing meanwhile are resynchronised (chat/redis_layer.py).
                self.sent = offset
                self.fanout_down_until = self.loop.time() + FANOUT_RETRY_INTERVAL
                if self.flush_timer is None:
                    self.flush_timer = self.loop.call_at(self.fanout_down_until, self._flush_later)

    async def _publish_text(self, delta: dict) -> bool:
        """Publishes a delta of the text, kept in Redis with it (under `send_lock`)."""
        if self.streamed is None:
            return await publish(self.group, delta)
        keeping = self.streamed.commands(self.content[: self.sent], delta["offset"])
        delivered = await publish(self.group, delta, keeping=keeping)
        self.streamed.published(delivered)
        return delivered

    async def _tool_step(self, step: ToolStep) -> None:
        await self._broadcast()
        entry = step.as_dict()
        container = step.details.get("container_id") if step.type == "code_interpreter" else ""
        if container and container not in self.containers:
            self.containers.append(container)
        # A step arrives when called and again with its output: one entry, updated.
        index = next((i for i, s in enumerate(self.tool_steps) if s["id"] == step.id), None)
        if index is None:
            self.tool_steps.append(entry)
        else:
            # The files a code run made are the site's (see _output_file); the provider's
            # later version of the step does not know them.
            if files := self.tool_steps[index]["details"].get("files"):
                entry["details"] = {**entry["details"], "files": files}
            self.tool_steps[index] = entry
        await self._save_step(entry)

    async def _save_step(self, entry: dict) -> None:
        # Saved at once (steps are few), so a tab opened now shows them in its snapshot.
        await adatabase_retrying(
            lambda: Message.objects.filter(pk=self.reply.pk).aupdate(tool_steps=self.tool_steps),
            what=f"save the tool steps of reply {self.reply.pk}",
        )
        await publish(
            self.group,
            {
                "type": "message.tool_step",
                "conversation_id": self.conversation.pk,
                "message_id": self.reply.pk,
                "step": entry,
            },
        )

    async def _citation(self, citation: Citation) -> None:
        """Saved and sent at once: it arrives before the text with its `[n]` marker, so a
        client never shows a marker it cannot resolve."""
        self.citations.append(citation.as_dict())
        await adatabase_retrying(
            lambda: Message.objects.filter(pk=self.reply.pk).aupdate(citations=self.citations),
            what=f"save the citations of reply {self.reply.pk}",
        )
        await publish(
            self.group,
            {
                "type": "message.citation",
                "conversation_id": self.conversation.pk,
                "message_id": self.reply.pk,
                "citation": await reply_citation_payload(
                    conversation=self.conversation, citation=citation
                ),
            },
        )

    async def _output_file(self, produced: OutputFile) -> None:
        """Copies a file the code made to the site; a failure costs the file, not the reply."""
        try:
            saved = await output_file_copy(
                client=self.agent.client,
                provider=self.conversation.assistant.connection.name,
                conversation=self.conversation,
                reply=self.reply,
                produced=produced,
            )
        except Exception as exc:
            if isinstance(exc, ProviderError):
                logger.warning("Could not copy %s of reply %s: %s", produced, self.reply.pk, exc)
                reason = str(exc)
            else:
                logger.exception("Could not copy %s of reply %s", produced, self.reply.pk)
                reason = "an unexpected error, which has been logged."
            name = produced.filename or produced.file_id
            self.content += (
                f"\n\n> The file {name} could not be fetched from the provider: {reason}\n\n"
            )
            await self._delta_arrived()
            return
        self.files_saved += 1
        step = self._step_of(produced)
        if step is not None:
            step["details"] = {
                **step["details"],
                "files": [*step["details"].get("files", []), saved.pk],
            }
            await self._save_step(step)
        await publish(
            self.group,
            {
                "type": "message.file",
                "conversation_id": self.conversation.pk,
                "message_id": self.reply.pk,
                "file": output_file_payload(saved),
            },
        )

    def _step_of(self, produced: OutputFile) -> dict | None:
        """The code run that made a file: the one in its container, else the latest."""
        runs = [s for s in self.tool_steps if s["type"] == "code_interpreter"]
        if produced.container_id:
            mine = [s for s in runs if s["details"].get("container_id") == produced.container_id]
            runs = mine or runs
        return runs[-1] if runs else None

    async def _heartbeat(self) -> None:
        """Shows this reply's task is alive, even while the provider is silent."""
        beat = settings.CHAT_RUNNER_HEARTBEAT
        while True:
            await asyncio.sleep(beat)
            # While text streams, the batched progress saves already show it (and every
            # reply's beat falling due together stalled the process for a moment).
            if not self.progress.saved_within(self.reply.pk, beat):
                try:
                    await Message.objects.filter(pk=self.reply.pk).aupdate(
                        updated_at=timezone.now()
                    )
                except Exception as error:  # the next beat tries again; the task lives on
                    logger.warning("Reply %s missed a heartbeat: %s", self.reply.pk, error)

    async def _listen(self) -> None:
        """Control messages from other sockets and processes: Stop, and late joiners."""
        while True:
            message = await self.layer.receive(self.channel)
            try:
                await self._control(message)
            except Exception as error:  # Redis away: the listener lives on for the next one
                logger.warning("Reply %s could not answer %s: %s", self.reply.pk, message, error)

    async def _control(self, message: dict) -> None:
        if message.get("type") == "turn.cancel":
            self.stop_requested = True
            if self.stream_task:
                self.stream_task.cancel()
            if message.get("reply_channel"):
                # Alive: the Stop need not close the reply itself (turns.turn_stop).
                await self.layer.send(message["reply_channel"], {"type": "turn.stopping"})
        elif message.get("type") == "tool.decision":
            # The owner decided on a call this reply waits for (toolservers.approvals).
            if self.toolbox is not None:
                self.toolbox.notified(message.get("call_id", ""))
        elif message.get("type") == "chat.resync":
            # This process lost Redis for a while: sockets that missed deltas (in any
            # process) drop the later ones until a frame from offset 0 closes the gap.
            async with self.send_lock:
                await self._publish_text(self._text_so_far())
        elif message.get("type") == "turn.text":
            async with self.send_lock:
                await self.layer.send(
                    message["reply_channel"],
                    {"type": "chat.frame", "frame": self._text_so_far()},
                )

    def _text_so_far(self) -> dict:
        return {
            "type": "message.delta",
            "conversation_id": self.conversation.pk,
            "message_id": self.reply.pk,
            "offset": 0,
            "text": self.content[: self.sent],
        }

    # --- Ending ---------------------------------------------------------------------------

    async def _finish(self, status: str, error: str) -> None:
        try:
            await self._broadcast()
            await self._record_thread()
        except Exception:
            logger.exception("Could not relay the end of reply %s", self.reply.pk)
        await self.progress.forget(self.reply.pk)
        now = timezone.now()
        reply = self.reply
        reply.content, reply.status, reply.error = self.content, status, error
        reply.tool_steps, reply.remote_run_id, reply.runner_channel = (
            self.tool_steps,
            self.run_id,
            "",
        )
        reply.citations = self.citations
        reply.input_tokens = self.usage.get("input_tokens")
        reply.output_tokens = self.usage.get("output_tokens")
        reply.model = self.model
        assistant = self.conversation.assistant
        if assistant is not None and assistant.thread_is_chain and self.thread:
            reply.remote_response_id = self.thread.id or ""
        self.conversation.updated_at = now
        try:
            conversation_exists = await adatabase_retrying(
                lambda: database_sync_to_async(self._save_end)(reply, now),
                what=f"save the end of reply {reply.pk}",
            )
        except Exception:
            # The reply stays active without a task: the stale sweep closes it, keeping the
            # text it last saved (stale_replies.py).
            logger.exception("Could not save the end of reply %s", reply.pk)
            return
        try:
            if self.files_saved or self.citations:
                payload = await adatabase_retrying(
                    lambda: amessage_payload(reply), what=f"present reply {reply.pk}"
                )
            else:
                # Nothing to read: the reply has no files (this runner made none) and cites
                # nothing. Two queries fewer at the end of most replies.
                messages_without_files([reply])
                payload = message_payload(reply)
        except Exception:
            logger.exception("Could not present the end of reply %s", reply.pk)
            return
        # The end is saved: what Redis kept of the text goes with its announcement.
        await publish_retrying(
            self.group,
            {"type": "message.done", "message": payload},
            keeping=self.streamed.forget() if self.streamed else (),
        )
        if error:
            await publish(
                self.group,
                {
                    "type": "error",
                    "code": "provider_error",
                    "message": error,
                    "conversation_id": self.conversation.pk,
                },
            )
        try:
            if conversation_exists:
                await conversation_title_generate(
                    conversation=self.conversation,
                    reply=reply,
                    first_reply=True if self.first_turn else None,
                    question=self.text,
                    refreshed=True,
                )
        except Exception:
            logger.exception("Could not title conversation %s", self.conversation.pk)
        await publish(
            user_group(self.conversation.owner_id),
            {
                "type": "conversation.updated",
                "conversation": conversation_payload(self.conversation),
            },
        )
        if status == Status.CANCELLED and self.run_id and self.thread and self.thread.id:
            await self._cancel_remote()
        if self.containers:
            await self._delete_containers()

    def _save_end(self, reply: Message, now) -> bool:
        """The reply's end, what it used and the conversation's new time, then the sidebar
        fields as they are now (for the title): one trip to the database thread, where a
        trip each cost more than their four statements. Whether the conversation still
        exists. Run again whole after a database error; every write in it is idempotent."""
        _REPLY_END.run(
            reply.pk,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            model=reply.model,
            remote_response_id=reply.remote_response_id,
            content=reply.content,
            status=reply.status,
            error=reply.error,
            tool_steps=reply.tool_steps,
            citations=reply.citations,
            remote_run_id=self.run_id,
            runner_channel="",
            updated_at=now,
        )
        try:
            # What the reply used replaces its turn's reservation against the user's budget.
            usage_finish(reply=reply, usage=self.usage)
        except DATABASE_ERRORS:
            raise
        except Exception:  # a failure costs the usage record, never the reply's end
            logger.exception("Could not record the usage of reply %s", reply.pk)
        _CONVERSATION_TIME.run(self.conversation.pk, updated_at=now)
        return conversation_sidebar_refresh(self.conversation)

    async def _delete_containers(self) -> None:
        """The containers the code ran in hold its files, which the site has copied: deleted
        now rather than left to expire; one that cannot be is recorded for a retry."""
        assistant = self.conversation.assistant
        objects = [RemoteObject(Kind.CONTAINER, container) for container in self.containers]
        try:
            async with asyncio.timeout(CONTAINER_DELETE_TIMEOUT):
                await aremote_objects_delete(
                    provider=assistant.connection.name, protocol=assistant.protocol, objects=objects
                )
        except Exception:
            logger.exception("Could not delete the containers of reply %s", self.reply.pk)

    async def _cancel_remote(self) -> None:
        """Stops the run on the provider too, so it does not go on generating for nobody."""
        try:
            async with asyncio.timeout(REMOTE_CANCEL_TIMEOUT):
                await self.agent.cancel(thread=self.thread, run_id=self.run_id)
        except (ProviderError, TimeoutError) as exc:
            logger.warning("Could not cancel run %s on the provider: %s", self.run_id, exc)
