"""The events of bench/emitter.py, pre-encoded: each protocol's server-sent events with the
real APIs' JSON shapes, a token's event rendered by joining bytes around two slots (the
stream's id and the emission stamp)."""

import itertools
import json
import time

# The model that answers, in every payload.
MODEL = "bench-emitter-1"
TITLE = "Bench conversation"
ID_WIDTH = 24  # hex digits of every generated id: fixed, so events have a fixed shape
STAMP_FORMAT = "⟨t={:.6f}⟩"  # as localai.engine.model.STAMP reads it


def token_of(index: int) -> str:
    return f"w{index:03d} "


def text_of(tokens: int) -> str:
    """The clean text of every reply (without its stamps)."""
    return "".join(token_of(i) for i in range(tokens))


_counter = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_counter):0{ID_WIDTH}x}"


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _event(name: str | None, data: str) -> bytes:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {data}\n\n".encode()


SLOT = "@@SLOT@@"  # where a stream's id goes in a pre-encoded event
STAMP_SLOT = "@@STAMP@@"  # where the emission stamp goes


class Template:
    """One event pre-encoded around its two slots: the stream's id and the stamp."""

    def __init__(self, name: str | None, data: str):
        encoded = _event(name, data)
        head, rest = encoded.split(SLOT.encode(), 1)
        middle, tail = rest.split(STAMP_SLOT.encode(), 1)
        self.parts = (head, middle, tail)

    def render(self, stream_id: bytes, stamp: bytes) -> bytes:
        head, middle, tail = self.parts
        return b"".join((head, stream_id, middle, stamp, tail))


def unix_now() -> int:
    return int(time.time())


def _run(run_id: str, thread_id: str, assistant_id: str, status: str) -> dict:
    return {
        "id": run_id,
        "object": "thread.run",
        "created_at": unix_now(),
        "assistant_id": assistant_id,
        "thread_id": thread_id,
        "status": status,
        "model": MODEL,
        "instructions": "",
        "tools": [],
        "metadata": {},
        "parallel_tool_calls": True,
        "response_format": "auto",
        "tool_choice": "auto",
        "truncation_strategy": {"type": "auto", "last_messages": None},
        "usage": None,
    }


def _assistant_message(message_id: str, thread_id: str, run_id: str, status: str, text: str):
    return {
        "id": message_id,
        "object": "thread.message",
        "created_at": unix_now(),
        "thread_id": thread_id,
        "run_id": run_id,
        "assistant_id": "asst_bench",
        "role": "assistant",
        "status": status,
        "attachments": [],
        "metadata": {},
        "content": [{"type": "text", "text": {"value": text, "annotations": []}}] if text else [],
    }


def usage_of(tokens: int) -> dict:
    return {"prompt_tokens": 20, "completion_tokens": tokens, "total_tokens": 20 + tokens}


class Protocols:
    """Everything a stream writes, for `tokens` tokens: the prologue and epilogue built per
    stream (a few events), the token events pre-encoded once (`deltas[protocol][i]`)."""

    def __init__(self, tokens: int):
        self.tokens = tokens
        self.text = text_of(tokens)
        self.deltas = {
            "assistants": [
                Template(
                    "thread.message.delta",
                    json_text(
                        {
                            "id": SLOT,
                            "object": "thread.message.delta",
                            "delta": {
                                "content": [
                                    {
                                        "index": 0,
                                        "type": "text",
                                        "text": {
                                            "value": token_of(i) + STAMP_SLOT,
                                            "annotations": [],
                                        },
                                    }
                                ]
                            },
                        }
                    ),
                )
                for i in range(tokens)
            ],
            "responses": [
                Template(
                    "response.output_text.delta",
                    json_text(
                        {
                            "type": "response.output_text.delta",
                            "item_id": SLOT,
                            "output_index": 0,
                            "content_index": 0,
                            "delta": token_of(i) + STAMP_SLOT,
                            "logprobs": [],
                            "sequence_number": i + 4,
                        }
                    ),
                )
                for i in range(tokens)
            ],
            "chat_completions": [
                Template(
                    None,
                    json_text(
                        {
                            "id": SLOT,
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": MODEL,
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": {"content": token_of(i) + STAMP_SLOT},
                                    "finish_reason": None,
                                }
                            ],
                        }
                    ),
                )
                for i in range(tokens)
            ],
        }

    # Prologue and epilogue: per stream, a handful of events, not on the per-token path.

    def assistants(self, thread_id: str, assistant_id: str, stamped_text: str | None = None):
        run_id, message_id, step_id = new_id("run_"), new_id("msg_"), new_id("step_")
        step = {
            "id": step_id,
            "object": "thread.run.step",
            "created_at": unix_now(),
            "run_id": run_id,
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "type": "message_creation",
            "status": "in_progress",
            "step_details": {
                "type": "message_creation",
                "message_creation": {"message_id": message_id},
            },
            "usage": None,
        }
        prologue = [
            _event(
                "thread.run.created", json_text(_run(run_id, thread_id, assistant_id, "queued"))
            ),
            _event("thread.run.queued", json_text(_run(run_id, thread_id, assistant_id, "queued"))),
            _event(
                "thread.run.in_progress",
                json_text(_run(run_id, thread_id, assistant_id, "in_progress")),
            ),
            _event("thread.run.step.created", json_text(step)),
            _event("thread.run.step.in_progress", json_text(step)),
            _event(
                "thread.message.created",
                json_text(_assistant_message(message_id, thread_id, run_id, "in_progress", "")),
            ),
            _event(
                "thread.message.in_progress",
                json_text(_assistant_message(message_id, thread_id, run_id, "in_progress", "")),
            ),
        ]

        def epilogue(text: str) -> list[bytes]:
            done = _run(run_id, thread_id, assistant_id, "completed")
            done["usage"] = usage_of(self.tokens)
            return [
                _event(
                    "thread.message.completed",
                    json_text(_assistant_message(message_id, thread_id, run_id, "completed", text)),
                ),
                _event(
                    "thread.run.step.completed",
                    json_text({**step, "status": "completed", "usage": usage_of(self.tokens)}),
                ),
                _event("thread.run.completed", json_text(done)),
                _event("done", "[DONE]"),
            ]

        return message_id, prologue, epilogue

    def responses(self, request: dict):
        response_id, item_id = new_id("resp_"), new_id("msg_")
        conversation = request.get("conversation")

        def response(status: str, output: list) -> dict:
            return {
                "id": response_id,
                "object": "response",
                "created_at": unix_now(),
                "status": status,
                "model": MODEL,
                "output": output,
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "conversation": {"id": conversation} if isinstance(conversation, str) else None,
                "previous_response_id": request.get("previous_response_id"),
                "usage": None,
            }

        def item(status: str, text: str) -> dict:
            return {
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": status,
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }

        prologue = [
            _event(
                "response.created",
                json_text(
                    {
                        "type": "response.created",
                        "sequence_number": 0,
                        "response": response("in_progress", []),
                    }
                ),
            ),
            _event(
                "response.in_progress",
                json_text(
                    {
                        "type": "response.in_progress",
                        "sequence_number": 1,
                        "response": response("in_progress", []),
                    }
                ),
            ),
            _event(
                "response.output_item.added",
                json_text(
                    {
                        "type": "response.output_item.added",
                        "sequence_number": 2,
                        "output_index": 0,
                        "item": {**item("in_progress", ""), "content": []},
                    }
                ),
            ),
            _event(
                "response.content_part.added",
                json_text(
                    {
                        "type": "response.content_part.added",
                        "sequence_number": 3,
                        "item_id": item_id,
                        "output_index": 0,
                        "content_index": 0,
                        "part": {"type": "output_text", "text": "", "annotations": []},
                    }
                ),
            ),
        ]

        def epilogue(text: str) -> list[bytes]:
            sequence = self.tokens + 4
            done = response("completed", [item("completed", text)])
            done["usage"] = {
                "input_tokens": 20,
                "output_tokens": self.tokens,
                "total_tokens": 20 + self.tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            }
            part = {"type": "output_text", "text": text, "annotations": []}
            common = {"item_id": item_id, "output_index": 0, "content_index": 0}
            return [
                _event(
                    "response.output_text.done",
                    json_text(
                        {
                            "type": "response.output_text.done",
                            "sequence_number": sequence,
                            **common,
                            "text": text,
                            "logprobs": [],
                        }
                    ),
                ),
                _event(
                    "response.content_part.done",
                    json_text(
                        {
                            "type": "response.content_part.done",
                            "sequence_number": sequence + 1,
                            **common,
                            "part": part,
                        }
                    ),
                ),
                _event(
                    "response.output_item.done",
                    json_text(
                        {
                            "type": "response.output_item.done",
                            "sequence_number": sequence + 2,
                            "output_index": 0,
                            "item": item("completed", text),
                        }
                    ),
                ),
                _event(
                    "response.completed",
                    json_text(
                        {
                            "type": "response.completed",
                            "sequence_number": sequence + 3,
                            "response": done,
                        }
                    ),
                ),
            ]

        return item_id, prologue, epilogue, response

    def chat_completions(self, request: dict):
        completion_id = new_id("chatcmpl-")

        def chunk(delta: dict, finish: str | None) -> dict:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": unix_now(),
                "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        prologue = [_event(None, json_text(chunk({"role": "assistant", "content": ""}, None)))]
        with_usage = bool((request.get("stream_options") or {}).get("include_usage"))

        def epilogue(text: str) -> list[bytes]:
            events = [_event(None, json_text(chunk({}, "stop")))]
            if with_usage:
                last = chunk({}, None)
                last["choices"] = []
                last["usage"] = usage_of(self.tokens)
                events.append(_event(None, json_text(last)))
            return [*events, _event(None, "[DONE]")]

        return completion_id, prologue, epilogue
