"""The load generator: K WebSocket clients on loopback, each sending one message and reading
the whole reply, against the chat consumer (the app) or the bare relay (the baseline).

The hot loop only timestamps and keeps raw frames; parsing happens after the phase, so the
client spends as little of the machine's two cores as it can while the server works.
Every token carries its emission time (the provider's `[[stamp]]` directive), so latency is
provider emission -> client receipt, per token, also inside the app's coalesced frames.
"""

import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect

from localai.engine.model import STAMP, strip_stamps

CONNECT_CONCURRENCY = 64  # Twisted's listen backlog is 50: do not flood it with SYNs


@dataclass
class Target:
    kind: str  # "app" or "baseline"
    url: str  # ws://127.0.0.1:PORT/ws/...
    origin: str


@dataclass
class ClientRun:
    text: str
    sent_at: float = 0.0
    frames: list[tuple[float, str]] = field(default_factory=list)
    failure: str = ""


@dataclass
class PhaseResult:
    kind: str
    clients: int
    tokens_per_reply: int
    latencies_ms: list[float]
    first_token_ms: list[float]
    tokens_delivered: int
    duration_s: float
    completed: int
    errors: int
    lost_tokens: int
    bad_transcripts: int
    frames: int
    server_cpu_s: float = 0.0
    provider_cpu_s: float = 0.0  # the stream source's (the emitter's)
    client_cpu_s: float = 0.0
    protocol: str = ""
    repetition: int = 0
    layer: str = "memory"  # the channel layer: "memory", "redis", "redis x2" (two processes)
    # The phase's schedule: what a path with no cost at all would take, first send to last
    # token (the last client starts ramp * (K-1)/K after the first).
    ideal_s: float = 0.0
    saved_ids: list[int] = field(default_factory=list)
    expected_by_id: dict[int, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def deltas_per_s(self) -> float:
        return self.tokens_delivered / self.duration_s if self.duration_s else 0.0

    @property
    def cpu_per_1000_tokens(self) -> float:
        """CPU seconds of the site's process(es) per 1,000 delivered tokens."""
        return self.server_cpu_s * 1000 / self.tokens_delivered if self.tokens_delivered else 0.0

    @property
    def source_share(self) -> float:
        """The stream source's CPU, in cores, over the phase."""
        return self.provider_cpu_s / self.duration_s if self.duration_s else 0.0

    @property
    def delivery(self) -> float:
        """Delivered tokens/s over the offered tokens/s (1.0: the path kept the schedule)."""
        offered = self.clients * self.tokens_per_reply
        if not offered or not self.ideal_s:
            return 0.0
        return (self.tokens_delivered / offered) * min(1.0, self.ideal_s / self.duration_s)

    def latency(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def first_token(self, q: float) -> float:
        return percentile(self.first_token_ms, q)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


async def open_sockets(
    target: Target, cookies: list[str | None], *, timeout: float = 120.0
) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(cookie: str | None) -> ClientConnection:
        headers = {"Cookie": cookie} if cookie else {}
        async with gate:
            return await connect(
                target.url,
                origin=target.origin,
                additional_headers=headers,
                compression=None,
                proxy=None,
                ping_interval=None,
                open_timeout=timeout,
                close_timeout=5,
                max_size=2**24,
            )

    return await asyncio.gather(*(one(cookie) for cookie in cookies))


async def close_sockets(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)


def _is_end(kind: str, raw: str) -> bool:
    head = raw[:40]
    return '"message.done"' in head or head.startswith('{"type": "error"')


async def _converse(
    kind: str, socket: ClientConnection, frame: str, run: ClientRun, start_at: float, limit: float
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.time()))
    run.sent_at = time.time()
    try:
        await socket.send(frame)
        async with asyncio.timeout(limit):
            while True:
                raw = await socket.recv()
                run.frames.append((time.time(), raw))
                if _is_end(kind, raw):
                    return
    except TimeoutError:
        run.failure = "timeout"
    except Exception as exc:  # a closed socket, mostly: counted, never fatal to the run
        run.failure = f"{type(exc).__name__}: {exc}"


def message_text(kind: str, clients: int, number: int, tokens: int) -> str:
    return f"Bench {kind} K={clients} client {number}"


async def stream_phase(
    target: Target,
    sockets: list[ClientConnection],
    *,
    tokens: int,
    ramp_s: float,
    token_delay: float,
    app_frame: dict,
    baseline_frame: dict,
) -> tuple[list[ClientRun], float]:
    """Every socket sends one message (starts spread evenly over `ramp_s`) and reads the
    reply to its end. Returns the runs and the phase's wall-clock duration."""
    clients = len(sockets)
    runs, frames = [], []
    for number in range(clients):
        text = message_text(target.kind, clients, number, tokens)
        runs.append(ClientRun(text))
        template = app_frame if target.kind == "app" else baseline_frame
        frames.append(json.dumps({**template, "text": text}))
    # Bounded: generous for an overloaded server (K * tokens to deliver), never endless.
    limit = ramp_s + tokens * token_delay * 4 + 60 + clients * tokens / 500
    began = time.time() + 0.2
    await asyncio.gather(
        *(
            _converse(target.kind, socket, frame, run, began + ramp_s * n / clients, limit)
            for n, (socket, frame, run) in enumerate(zip(sockets, frames, runs, strict=True))
        )
    )
    return runs, time.time() - began


def analyse(kind: str, runs: list[ClientRun], tokens: int, expected: str) -> PhaseResult:
    """Latency per token, time to first token, tokens delivered, lost and broken replies;
    `expected` is every reply's text without its stamps."""
    latencies: list[float] = []
    first_tokens: list[float] = []
    delivered = completed = errors = lost = bad = frame_count = 0
    first_sent = min((r.sent_at for r in runs), default=0.0)
    last_seen = first_sent
    saved_ids: list[int] = []
    expected_by_id: dict[int, str] = {}
    failures: list[str] = []
    for run in runs:
        shown = ""
        done = None
        failure = run.failure
        for received, raw in run.frames:
            frame_count += 1
            frame = json.loads(raw)
            kind_of = frame.get("type")
            if kind_of == "message.delta":
                offset, text = frame["offset"], frame["text"]
                if offset <= len(shown) < offset + len(text):
                    shown += text[len(shown) - offset :]
                for match in STAMP.finditer(text):
                    latencies.append((received - float(match["time"])) * 1000)
                last_seen = max(last_seen, received)
            elif kind_of == "message.done":
                done = frame
            elif kind_of == "error" and not failure:
                failure = f"error frame: {frame.get('code', '')} {frame.get('message', '')}"
        first = next((t for t, raw in run.frames if '"message.delta"' in raw[:40]), None)
        if first is not None:
            first_tokens.append((first - run.sent_at) * 1000)
        tokens_shown = len(STAMP.findall(shown))
        delivered += tokens_shown
        lost += max(0, tokens - tokens_shown)
        if done is not None:
            content = done["message"]["content"] if kind == "app" else done["content"]
            status = done["message"]["status"] if kind == "app" else done["status"]
            if status == "complete":
                completed += 1
            else:
                failure = failure or f"reply ended {status}"
            if strip_stamps(shown) != expected or strip_stamps(content) != expected:
                bad += 1
            if kind == "app":
                saved_ids.append(done["message"]["id"])
                expected_by_id[done["message"]["id"]] = expected
        else:
            failure = failure or "no message.done"
            bad += 1
        if failure:
            errors += 1
            failures.append(failure)
    return PhaseResult(
        kind=kind,
        clients=len(runs),
        tokens_per_reply=tokens,
        latencies_ms=latencies,
        first_token_ms=first_tokens,
        tokens_delivered=delivered,
        duration_s=max(last_seen - first_sent, 1e-9),
        completed=completed,
        errors=errors,
        lost_tokens=lost,
        bad_transcripts=bad,
        frames=frame_count,
        saved_ids=saved_ids,
        expected_by_id=expected_by_id,
        failures=failures,
    )
