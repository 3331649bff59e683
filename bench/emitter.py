"""`python -m bench.emitter`: the benchmark's stream source, a process that is never the
bottleneck.

It serves, over HTTP/1.1 with keep-alive, what the site asks of a provider in one turn, for
each protocol it speaks, with the real APIs' JSON shapes and server-sent event sequences
(tests/bench/test_emitter.py reads them with the openai SDK):

| protocol | requests |
| --- | --- |
| assistants | POST threads, POST threads/{id}/messages, POST threads/{id}/runs (streamed) |
| responses | POST conversations, POST responses (streamed; unstreamed for titles) |
| chat_completions | POST chat/completions (streamed; unstreamed for titles) |

Why it is lean, and how:
- No framework on the hot path: an `asyncio.Protocol` on the raw transport, a request
  parser of a few lines, and every event pre-encoded at start-up. Per token, a send is one
  bytes join (head, stream id, stamp, tail) and one `transport.write`.
- One pacer for every stream: each stream's next token is due `delay` after its last, so
  the streams, kept in a FIFO, stay in due order and the pacer only looks at the head; it
  wakes at most once a millisecond and emits whatever is due.
- Every token is stamped when it is written, `⟨t=<unix time>⟩` as the local provider's
  `[[stamp]]` directive does (localai.engine.model.STAMP), so that latency is measured from
  emission, whatever the pacer's lag. The lag itself is counted (GET /stats).

A reply is `tokens` words `w000 `, `w001 `... (text_of), the same for every request; the
bench checks every delivered and saved reply against it.
"""

import argparse
import asyncio
import collections
import json
import os
import time

from .emitter_events import (
    MODEL,
    STAMP_FORMAT,
    TITLE,
    Protocols,
    json_text,
    new_id,
    token_of,
    unix_now,
    usage_of,
)

MAX_BODY = 16 * 1024 * 1024
PACER_GRANULARITY = 0.001  # seconds: the pacer wakes at most this often


# --- Streams and their pacer -----------------------------------------------------------


class Stream:
    __slots__ = ("connection", "deltas", "due", "epilogue", "index", "stamps", "stream_id")

    def __init__(self, connection, deltas, stream_id: str, epilogue, due: float):
        self.connection = connection
        self.deltas = deltas
        self.stream_id = stream_id.encode()
        self.epilogue = epilogue
        self.index = 0
        self.due = due
        self.stamps: list[str] = []


class Pacer:
    """Emits every stream's next token when it is due, all streams in one FIFO."""

    def __init__(self, delay: float):
        self.delay = delay
        self.queue: collections.deque[Stream] = collections.deque()
        self.wakeup: asyncio.TimerHandle | None = None
        self.loop = asyncio.get_running_loop()
        self.stats = {"streams": 0, "tokens": 0, "max_lag_s": 0.0, "lag_sum_s": 0.0}

    def add(self, stream: Stream) -> None:
        self.queue.append(stream)
        self.stats["streams"] += 1
        self._arm()

    def _arm(self) -> None:
        if self.wakeup is None and self.queue:
            at = max(self.queue[0].due, self.loop.time() + PACER_GRANULARITY)
            self.wakeup = self.loop.call_at(at, self._tick)

    def _tick(self) -> None:
        self.wakeup = None
        now = self.loop.time()
        wall = time.time()
        queue, delay, stats = self.queue, self.delay, self.stats
        while queue and queue[0].due <= now:
            stream = queue.popleft()
            connection = stream.connection
            if connection.closed:
                continue
            lag = now - stream.due
            stats["lag_sum_s"] += lag
            if lag > stats["max_lag_s"]:
                stats["max_lag_s"] = lag
            stamp = STAMP_FORMAT.format(wall)
            stream.stamps.append(stamp)
            connection.write_chunk(
                stream.deltas[stream.index].render(stream.stream_id, stamp.encode())
            )
            stats["tokens"] += 1
            stream.index += 1
            if stream.index < len(stream.deltas):
                stream.due += delay
                queue.append(stream)
            else:
                for event in stream.epilogue(stream_text(stream)):
                    connection.write_chunk(event)
                connection.end_chunked()
        self._arm()


def stream_text(stream: Stream) -> str:
    """The whole text with the stamps it was sent with (what the final events carry)."""
    return "".join(token_of(i) + stamp for i, stamp in enumerate(stream.stamps))


# --- HTTP ------------------------------------------------------------------------------


class Emitter:
    def __init__(self, tokens: int, delay: float):
        self.protocols = Protocols(tokens)
        self.delay = delay
        self.pacer: Pacer | None = None
        self.unknown: collections.Counter[str] = collections.Counter()
        self.requests: collections.Counter[str] = collections.Counter()

    def respond(self, connection: "Connection", method: str, path: str, body: bytes) -> None:
        if self.pacer is None:
            self.pacer = Pacer(self.delay)
        path = path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "v1":
            parts = parts[1:]
        route = "/".join(
            "{id}" if i % 2 and p.startswith(("thread_", "conv_")) else p
            for i, p in enumerate(parts)
        )
        self.requests[f"{method} {route}"] += 1
        try:
            request = json.loads(body) if body else {}
        except ValueError:
            connection.send_json(
                400, {"error": {"message": "bad JSON", "type": "invalid_request_error"}}
            )
            return
        if method == "GET" and route == "stats":
            connection.send_json(200, self.snapshot())
        elif method == "POST" and route == "threads":
            connection.send_json(
                200,
                {
                    "id": new_id("thread_"),
                    "object": "thread",
                    "created_at": unix_now(),
                    "metadata": {},
                    "tool_resources": None,
                },
            )
        elif method == "POST" and route == "threads/{id}/messages":
            connection.send_json(200, self._user_message(parts[1], request))
        elif method == "POST" and route == "threads/{id}/runs":
            message_id, prologue, epilogue = self.protocols.assistants(
                parts[1], request.get("assistant_id", "asst_bench")
            )
            self._stream(connection, "assistants", message_id, prologue, epilogue)
        elif method == "POST" and route == "conversations":
            connection.send_json(
                200,
                {
                    "id": new_id("conv_"),
                    "object": "conversation",
                    "created_at": unix_now(),
                    "metadata": {},
                },
            )
        elif method == "POST" and route == "responses":
            item_id, prologue, epilogue, response = self.protocols.responses(request)
            if request.get("stream"):
                self._stream(connection, "responses", item_id, prologue, epilogue)
            else:
                done = response(
                    "completed",
                    [
                        {
                            "id": item_id,
                            "type": "message",
                            "role": "assistant",
                            "status": "completed",
                            "content": [{"type": "output_text", "text": TITLE, "annotations": []}],
                        }
                    ],
                )
                connection.send_json(200, done)
        elif method == "POST" and route == "chat/completions":
            completion_id, prologue, epilogue = self.protocols.chat_completions(request)
            if request.get("stream"):
                self._stream(connection, "chat_completions", completion_id, prologue, epilogue)
            else:
                connection.send_json(
                    200,
                    {
                        "id": completion_id,
                        "object": "chat.completion",
                        "created": unix_now(),
                        "model": MODEL,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": TITLE},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage_of(3),
                    },
                )
        else:
            self.unknown[f"{method} {route}"] += 1
            connection.send_json(
                404, {"error": {"message": f"No route {method} {path}", "type": "not_found"}}
            )

    @staticmethod
    def _user_message(thread_id: str, request: dict) -> dict:
        content = request.get("content", "")
        text = content if isinstance(content, str) else ""
        return {
            "id": new_id("msg_"),
            "object": "thread.message",
            "created_at": unix_now(),
            "thread_id": thread_id,
            "role": "user",
            "status": "completed",
            "assistant_id": None,
            "run_id": None,
            "attachments": [],
            "metadata": {},
            "content": [{"type": "text", "text": {"value": text, "annotations": []}}],
        }

    def _stream(self, connection, protocol: str, stream_id: str, prologue, epilogue) -> None:
        connection.start_chunked()
        for event in prologue:
            connection.write_chunk(event)
        due = self.pacer.loop.time() + self.delay
        self.pacer.add(
            Stream(connection, self.protocols.deltas[protocol], stream_id, epilogue, due)
        )

    def snapshot(self) -> dict:
        stats = dict(self.pacer.stats) if self.pacer else {}
        return {
            **stats,
            "requests": dict(self.requests),
            "unknown": dict(self.unknown),
            "pid": os.getpid(),
        }


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: requests one after the other (the SDK never
    pipelines), a response streamed in chunked encoding or sent whole."""

    def __init__(self, emitter: Emitter):
        self.emitter = emitter
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length > MAX_BODY:
                self.send_json(413, {"error": {"message": "too large"}})
                self.transport.close()
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.emitter.respond(self, method, target, body)

    def send_json(self, status: int, payload: dict) -> None:
        body = json_text(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Too Large"}[status]
        self.transport.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
            + body
        )

    def start_chunked(self) -> None:
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        )

    def write_chunk(self, data: bytes) -> None:
        self.transport.write(b"%x\r\n%b\r\n" % (len(data), data))

    def end_chunked(self) -> None:
        self.transport.write(b"0\r\n\r\n")


async def serve(host: str, port: int, tokens: int, delay: float) -> None:
    emitter = Emitter(tokens, delay)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(emitter), host, port, backlog=4096)
    print(f"emitter: listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.emitter", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=100, help="tokens in every reply")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between tokens")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.tokens, args.delay))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
