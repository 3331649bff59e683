"""The streaming measurements of `make bench`: every protocol, K clients, site and baseline
interleaved, repeated; the saturation point of each path; the channel layer's rows.

Everything streams from the emitter (bench/emitter.py), a process of its own that costs far
less than either path, so that what is measured is the site (or the bare relay), not its
source. The site's processes and the emitter are read from /proc before and after each
phase: CPU seconds per 1,000 delivered tokens is the overhead figure that holds still when
the machine's load moves; latency and throughput move with it, hence the repetitions.
"""

import asyncio
import pickle
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from .emitter_events import text_of
from .load import PhaseResult, Target, analyse, close_sockets, open_sockets, stream_phase

PROTOCOLS = ("assistants", "responses", "chat_completions")
SATURATION_DELIVERY = 0.95  # delivered / offered tokens/s at which a path still keeps up
SOURCE_SHARE_LIMIT = 0.5  # cores: above it a row is limited by the source, not the path


@dataclass
class Frames:
    """What a client of each path sends for one protocol (its text added per client)."""

    protocol: str
    app: dict
    baseline: dict


def protocol_frames(*, connection_name: str, remote_assistant_id: str) -> dict[str, Frames]:
    """One assistant per protocol on the emitter's connection, in the site's database."""
    from chat.models import Assistant, Connection

    connection = Connection.objects.get(name=connection_name)
    frames = {}
    for protocol in PROTOCOLS:
        assistant = Assistant.objects.create(
            name=f"Bench {protocol}",
            connection=connection,
            protocol=protocol,
            model="bench-emitter-1",
            # Assistants keep the definition remotely: the emitter takes any id.
            remote_id=remote_assistant_id if protocol == "assistants" else "",
            responses_thread=Assistant.ResponsesThread.CONVERSATION,
        )
        frames[protocol] = Frames(
            protocol,
            app={"type": "message.send", "conversation_id": None, "assistant_id": assistant.pk},
            baseline={
                "protocol": protocol,
                "connection": connection_name,
                "assistant_id": remote_assistant_id,
                "model": "bench-emitter-1",
            },
        )
    return frames


@dataclass
class Paths:
    """The processes behind each path: the clients' sockets are split across them."""

    app: list  # bench.servers.Server, in-memory layer
    redis: list = field(default_factory=list)  # one or two servers on the Redis layer
    before: list = field(default_factory=list)  # the code before a change (--before)


class StreamingBench:
    def __init__(self, args, *, cookies: list[str], emitter, paths: Paths, frames, work: Path):
        self.args = args
        self.cookies = cookies
        self.emitter = emitter
        self.paths = paths
        self.frames = frames
        self.work = work
        self.expected = text_of(args.tokens)

    def _targets(self, kind: str, servers) -> list[Target]:
        path = "/ws/chat/" if kind != "baseline" else "/ws/bench/relay/"
        return [
            Target(
                "baseline" if kind == "baseline" else "app",
                f"ws://127.0.0.1:{s.port}{path}",
                f"http://127.0.0.1:{s.port}",
            )
            for s in servers
        ]

    async def phase(
        self, kind: str, protocol: str, k: int, *, servers=None, layer="memory", repetition=0
    ) -> PhaseResult:
        """K clients, one message each, on `servers` (default: the in-memory app)."""
        servers = servers or self.paths.app
        targets = self._targets(kind, servers)
        sockets = []
        for number, target in enumerate(targets):
            # Sockets split evenly across the processes (client n on process n % count).
            share = list(range(number, k, len(targets)))
            cookies = (
                [self.cookies[n] for n in share] if kind != "baseline" else [None] * len(share)
            )
            sockets.append(await open_sockets(target, cookies))
        together = [socket for group in sockets for socket in group]
        frames = self.frames[protocol]
        before = self._cpu(servers)
        runs, _ = await stream_phase(
            targets[0],
            together,
            tokens=self.args.tokens,
            ramp_s=self.args.ramp,
            token_delay=self.args.token_delay,
            app_frame=frames.app,
            baseline_frame=frames.baseline,
        )
        after = self._cpu(servers)
        await close_sockets(together)
        result = analyse(targets[0].kind, runs, self.args.tokens, self.expected)
        result.kind = kind
        result.server_cpu_s, result.provider_cpu_s, result.client_cpu_s = (
            a - b for a, b in zip(after, before, strict=True)
        )
        result.protocol, result.layer, result.repetition = protocol, layer, repetition
        result.ideal_s = self.args.ramp * (k - 1) / k + self.args.tokens * self.args.token_delay
        name = f"{protocol}-{kind}-{layer.replace(' ', '')}-K{k}-r{repetition}"
        (self.work / f"{name}.frames.pickle").write_bytes(pickle.dumps(runs))
        self._print(result)
        await asyncio.sleep(0.5)
        return result

    def _cpu(self, servers) -> tuple[float, float, float]:
        return (
            sum(s.cpu_seconds() for s in servers),
            self.emitter.cpu_seconds(),
            time.process_time(),
        )

    @staticmethod
    def _print(r: PhaseResult) -> None:
        print(
            f"bench: {r.protocol:<16} {r.layer:<8} K={r.clients:<4} {r.kind:<8} "
            f"p50 {r.latency(0.5):7.1f} ms  p99 {r.latency(0.99):7.1f} ms  "
            f"{r.deltas_per_s:7.0f} tok/s ({r.delivery:.2f} of offered)  "
            f"cpu/1k tok {r.cpu_per_1000_tokens:.3f} s  source {r.source_share:.2f} core  "
            f"{r.completed}/{r.clients} done  {r.errors} err  "
            f"{r.lost_tokens + r.bad_transcripts} lost",
            flush=True,
        )
        for failure in sorted(set(r.failures))[:3]:
            print(f"bench:     failure: {failure}", flush=True)

    async def warm_up(self) -> None:
        """Imports, first connections, templates: on every path and protocol, unmeasured."""
        for protocol in self.args.protocols:
            for kind, servers in self._every_server():
                await self.phase(kind, protocol, 2, servers=servers, layer="warm-up")

    def _every_server(self):
        yield "baseline", self.paths.app
        yield "app", self.paths.app
        for server in [*self.paths.redis, *self.paths.before]:
            yield "app", [server]

    async def table(self) -> list[PhaseResult]:
        """Every protocol and K, `repeats` times, baseline and site interleaved (the order
        alternating, so that a drift of the machine's load favours neither)."""
        phases = []
        for protocol in self.args.protocols:
            for k in self.args.ks:
                for repetition in range(self.args.repeats):
                    order = ("baseline", "app") if repetition % 2 == 0 else ("app", "baseline")
                    for kind in order:
                        phases.append(await self.phase(kind, protocol, k, repetition=repetition))
        return phases

    async def saturation(self, phases: list[PhaseResult]) -> dict[tuple[str, str], dict]:
        """For each protocol and path, the largest K still delivering SATURATION_DELIVERY of
        the offered tokens/s with no error: bracketed by the table's K, then bisected."""
        found = {}
        for protocol in self.args.protocols:
            for kind in ("baseline", "app"):
                measured = {
                    k: keeps_up(group)
                    for k, group in by_k(phases, protocol=protocol, kind=kind).items()
                }
                low = 0
                for k in sorted(measured):
                    if not measured[k]:
                        break
                    low = k
                high = min((k for k in measured if k > low), default=None)
                steps = []
                for _ in range(self.args.search_steps):
                    if high is None or high - low <= max(1, low // 20):
                        break
                    middle = (low + high) // 2
                    result = await self.phase(kind, protocol, middle, layer="bisect")
                    steps.append(result)
                    if keeps_up([result]):
                        low = middle
                    else:
                        high = middle
                found[(protocol, kind)] = {"k": low, "above": high, "steps": steps}
        return found

    async def interleaved(self, pair, protocol: str, k: int) -> list[PhaseResult]:
        """The site on two sets of processes, `pair` = ((layer, servers), (layer, servers)),
        `repeats` times, the order alternating."""
        phases = []
        for repetition in range(self.args.repeats):
            for layer, servers in pair if repetition % 2 == 0 else pair[::-1]:
                phases.append(
                    await self.phase(
                        "app", protocol, k, servers=servers, layer=layer, repetition=repetition
                    )
                )
        return phases

    async def layers(self) -> list[PhaseResult]:
        """The in-memory layer against Redis (one process each) at K=layer_k, and one Redis
        process against two at K=two_k; `repeats` times, interleaved."""
        if not self.paths.redis:
            return []
        phases = []
        one, every = self.paths.redis[:1], self.paths.redis
        for protocol in self.args.protocols:
            pair = (("memory", self.paths.app), ("redis", one))
            phases += await self.interleaved(pair, protocol, self.args.layer_k)
        if len(every) > 1:
            k = self.args.two_k
            pair = ((f"redis K={k}", one), (f"redis x2 K={k}", every))
            phases += await self.interleaved(pair, self.args.protocols[-1], k)
        return phases

    async def before_after(self) -> list[PhaseResult]:
        """The code before the change (--before) against the current code, both with the
        in-memory layer, at `before_k`, interleaved: the profile-led changes' effect."""
        if not self.paths.before:
            return []
        phases = []
        for protocol in self.args.protocols:
            pair = (("before", self.paths.before), ("after", self.paths.app))
            phases += await self.interleaved(pair, protocol, self.args.before_k)
        return phases


def by_k(phases, **where) -> dict[int, list[PhaseResult]]:
    groups: dict[int, list[PhaseResult]] = {}
    for phase in phases:
        if all(getattr(phase, name) == value for name, value in where.items()):
            groups.setdefault(phase.clients, []).append(phase)
    return groups


def keeps_up(group: list[PhaseResult]) -> bool:
    """The median repetition delivers SATURATION_DELIVERY of the offer, none with errors."""
    return (
        all(p.errors == 0 for p in group)
        and statistics.median(p.delivery for p in group) >= SATURATION_DELIVERY
    )
