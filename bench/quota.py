"""What the quota check costs a turn, with the check on and off, interleaved. Two measures:

- a whole turn as the user sees it: `message.send` on the chat socket (in-process, the real
  consumer and runner) to `message.done`, the reply streamed by the local provider in a
  process of its own (TURN_TOKENS tokens at its LOCAL_PROVIDER_TOKEN_DELAY);
- the site's own work for a turn, the strictest ratio there is: the consumer's
  `turn_create` (validate, save the message and the empty reply, admit the turn: access,
  budgets, reservation; one transaction), then the runner's `usage_finish` once the reply
  ended, without the provider (whose time only adds the same to both sides).

"on": a default, a group and a user quota, and a month of the user's usage (HISTORY
records), so the budget's aggregate has rows to read. "off": the same, with the quota lookup
answering "no limit" without a query (as with no quota anywhere), so neither the limits
query nor the aggregate runs. Repetitions alternate on/off (and which goes first), so that a
slower moment of the machine weighs on both alike.
"""

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

HISTORY = 2000
REPEATS = 200
TURN_REPEATS = 40
TURN_TOKENS = 20
WARMUP = 20


@dataclass
class QuotaRow:
    label: str
    value: str


@contextmanager
def _quota_check_off():
    from organisation.quotas import Limits
    from organisation.services import admission

    real = admission.limits_for
    admission.limits_for = lambda *, user: Limits(daily=None, monthly=None)
    try:
        yield
    finally:
        admission.limits_for = real


def _prepare(assistant):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from organisation.models import Quota, UsageRecord
    from organisation.services.settings import quota_set

    user = get_user_model().objects.create_user("quota-bench")
    group = Group.objects.create(name="quota-bench")
    user.groups.add(group)
    huge = 10**12  # never reached: the check runs in full and admits every turn
    quota_set(scope=Quota.Scope.DEFAULT, daily_tokens=huge, monthly_tokens=huge)
    quota_set(scope=Quota.Scope.GROUP, group_name=group.name, daily_tokens=huge)
    quota_set(scope=Quota.Scope.USER, username=user.username, monthly_tokens=huge)
    now = timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    step = (now - start) / HISTORY
    UsageRecord.objects.bulk_create(
        UsageRecord(
            user=user,
            assistant=assistant,
            assistant_name=assistant.name,
            connection="local",
            model="local-echo-1",
            input_tokens=300,
            output_tokens=200,
            total_tokens=500,
            estimated=False,
            created_at=start + step * n,
            finished_at=start + step * n + timedelta(seconds=2),
        )
        for n in range(HISTORY)
    )
    return user


def _one_turn(user, assistant) -> float:
    """Milliseconds of one turn's site work (see the module's docstring)."""
    from chat.models import Message
    from chat.services.turns import turn_create
    from organisation.services.usage import usage_finish

    started = time.perf_counter()
    start = turn_create(user=user, text="How much budget is left?", assistant_id=assistant.pk)
    reply = start.reply
    reply.content, reply.status = "Plenty.", Message.Status.COMPLETE
    reply.save(update_fields=["content", "status"])
    usage_finish(reply=reply, usage={"input_tokens": 300, "output_tokens": 200})
    return (time.perf_counter() - started) * 1000


def _session_cookie(user) -> bytes:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _whole_turns(cookie: bytes, assistant, *, repeats: int) -> tuple[list, list, list]:
    """(on, off, paired ratios) of whole turns over the chat socket, in milliseconds."""
    from channels.testing import WebsocketCommunicator

    from assistants_site.asgi import application

    socket = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)],
    )
    connected, _ = await socket.connect()
    assert connected, "the chat socket refused the bench user"
    frame = {
        "type": "message.send",
        "conversation_id": None,  # a new conversation each time: the same input every turn
        "assistant_id": assistant.pk,
        "text": f"[[tokens:{TURN_TOKENS}]] How much budget is left?",
    }

    async def turn() -> float:
        started = time.perf_counter()
        await socket.send_json_to(frame)
        while True:
            received = await socket.receive_json_from(timeout=60)
            if received["type"] == "error":
                raise RuntimeError(f"the bench turn was refused: {received}")
            if received["type"] == "message.done":
                assert received["message"]["status"] == "complete", received["message"]
                return (time.perf_counter() - started) * 1000

    try:
        return await _interleaved(turn, repeats=repeats, warmup=4)
    finally:
        await socket.disconnect()


async def _interleaved(measure, *, repeats: int, warmup: int) -> tuple[list, list, list]:
    """Runs `measure` with the check on and off by turns (which goes first alternates)."""
    on, off, ratios = [], [], []
    for n in range(warmup + repeats):
        pair = {}
        for mode in ("on", "off") if n % 2 == 0 else ("off", "on"):
            if mode == "off":
                with _quota_check_off():
                    pair[mode] = await measure()
            else:
                pair[mode] = await measure()
        if n >= warmup:
            on.append(pair["on"])
            off.append(pair["off"])
            ratios.append(pair["on"] / pair["off"])
    return on, off, ratios


def _spread(values: list[float]) -> tuple[float, float]:
    deciles = statistics.quantiles(values, n=10)
    return deciles[0], deciles[-1]


def _rows(label: str, on: list, off: list, ratios: list) -> list[QuotaRow]:
    def summary(values: list[float], unit: str = " ms", digits: int = 2) -> str:
        low, high = _spread(values)
        return f"{statistics.median(values):.{digits}f}{unit} ({low:.{digits}f}-{high:.{digits}f})"

    return [
        QuotaRow(f"{label}: pairs, interleaved", f"{len(ratios)}"),
        QuotaRow(f"{label}, check on: median (p10-p90)", summary(on)),
        QuotaRow(f"{label}, check off: median (p10-p90)", summary(off)),
        QuotaRow(f"{label}: on / off, median of paired ratios", summary(ratios, "", 3)),
    ]


def quota_benchmark(
    *, provider_url: str | None, repeats: int = REPEATS, turns: int = TURN_REPEATS
) -> list[QuotaRow]:
    """The table's rows: median times on and off, the median of the paired ratios, and
    their spread (10th to 90th percentile). Whole turns need `provider_url` (the local
    provider's /local/v1); without it only the site's work is measured."""
    import asyncio

    from asgiref.sync import sync_to_async
    from django.conf import settings

    from chat.models import Assistant

    # Chat Completions: no remote definition, the site sends the (one-message) transcript.
    assistant = Assistant.objects.create(
        name="Quota bench",
        model=settings.LOCAL_PROVIDER_MODEL,
        protocol=Assistant.Protocol.CHAT_COMPLETIONS,
    )
    user = _prepare(assistant)
    rows = [QuotaRow("usage rows of the user this month", f"{HISTORY}")]
    if provider_url:
        settings.LOCAL_PROVIDER_BASE_URL = provider_url
        rows += _rows(
            "whole turn",
            *asyncio.run(_whole_turns(_session_cookie(user), assistant, repeats=turns)),
        )
    site_turn = sync_to_async(_one_turn, thread_sensitive=True)
    measured = asyncio.run(
        _interleaved(lambda: site_turn(user, assistant), repeats=repeats, warmup=WARMUP)
    )
    return rows + _rows("site's work per turn", *measured)


def render_quota(rows: list[QuotaRow]) -> str:
    width = max(len(row.label) for row in rows)
    lines = ["Quota check on vs off (bench/quota.py)", ""]
    lines += [f"  {row.label:<{width}}  {row.value}" for row in rows]
    return "\n".join(lines)
