"""Token budgets: at the limit, just over it, across a period's boundary (a frozen clock),
how the default, group and user levels combine, and the refusal over the WebSocket."""

from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from chat.models import Assistant, Conversation, Message
from chat.services.refusals import Refused
from chat.services.turns import turn_create
from organisation.clock import clock_frozen, clock_set
from organisation.models import Quota, UsageRecord
from organisation.quotas import Limits, budgets_for, limits_for
from organisation.services.settings import quota_set
from organisation.services.usage import usage_finish
from tests.chat.wsclient import make_user, session_cookie_for
from tests.organisation.support import connected, send_new

REPLY = {"input_tokens": 60, "output_tokens": 40}  # 100 tokens a reply


def _turn(user, assistant, text="How much?") -> Message:
    """A whole turn as the runner ends it: admitted, then its reply's usage recorded."""
    start = turn_create(user=user, text=text, assistant_id=assistant.pk)
    reply = start.reply
    reply.content, reply.status = "An answer.", Message.Status.COMPLETE
    reply.save(update_fields=["content", "status"])
    usage_finish(reply=reply, usage=REPLY)
    return reply


def _refusal(user, assistant) -> Refused:
    with pytest.raises(Refused) as refused:
        turn_create(user=user, text="One more", assistant_id=assistant.pk)
    return refused.value


@pytest.fixture
def assistant(db):
    return Assistant.objects.create(name="Helper", model="local-model")


@pytest.fixture
def user(db):
    return make_user("quinn")


@pytest.mark.django_db
def test_at_the_limit_the_next_turn_is_refused_with_when_it_resets(user, assistant):
    quota_set(scope=Quota.Scope.DEFAULT, daily_tokens=200)
    with clock_frozen(datetime(2026, 12, 2, 15, 30, tzinfo=UTC)):
        _turn(user, assistant)
        _turn(user, assistant)  # 100 used of 200: admitted
        conversations = Conversation.objects.count()
        refusal = _refusal(user, assistant)  # 200 used: at the limit

    assert refusal.code == "over_quota"
    assert refusal.details["resets_at"] == "2026-12-03T00:00:00+00:00"
    assert refusal.details["period"] == "day"
    assert "daily budget of 200 tokens" in str(refusal)
    # Refused before anything was saved, so before anything went to the provider.
    assert Conversation.objects.count() == conversations
    assert UsageRecord.objects.count() == 2


@pytest.mark.django_db
def test_one_token_under_the_limit_admits_one_more_reply_then_refuses(user, assistant):
    quota_set(scope=Quota.Scope.DEFAULT, daily_tokens=201)
    _turn(user, assistant)
    _turn(user, assistant)
    _turn(user, assistant)  # 200 of 201: admitted, and it ends over the limit

    refusal = _refusal(user, assistant)
    day = budgets_for(user=user)[0]

    assert refusal.code == "over_quota"
    assert (day.used, day.remaining, day.exhausted) == (300, 0, True)


@pytest.mark.django_db
def test_the_daily_budget_resets_at_midnight_and_the_monthly_one_on_the_first(user, assistant):
    quota_set(scope=Quota.Scope.DEFAULT, daily_tokens=100, monthly_tokens=250)
    with clock_frozen(datetime(2026, 3, 30, 23, 59, 30, tzinfo=UTC)):
        _turn(user, assistant)
        before_midnight = _refusal(user, assistant)
        clock_set(datetime(2026, 3, 31, 0, 0, tzinfo=UTC))
        _turn(user, assistant)  # a new day: 0 of 100 today, 100 of 250 this month
        clock_set(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
        same_day = _refusal(user, assistant)
        # Still in March: 200 of 250 this month; today's budget is spent until midnight.
        clock_set(datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
        _turn(user, assistant)
        april = budgets_for(user=user)

    assert before_midnight.details["resets_at"] == "2026-03-31T00:00:00+00:00"
    assert same_day.details["resets_at"] == "2026-04-01T00:00:00+00:00"
    assert [(b.period, b.used) for b in april] == [("day", 100), ("month", 100)]


@pytest.mark.django_db
def test_a_spent_monthly_budget_says_it_resets_on_the_first(user, assistant):
    quota_set(scope=Quota.Scope.DEFAULT, monthly_tokens=150)
    with clock_frozen(datetime(2026, 12, 10, 9, 0, tzinfo=UTC)):
        _turn(user, assistant)
        _turn(user, assistant)
        refusal = _refusal(user, assistant)

    assert refusal.details == {
        "resets_at": "2027-01-01T00:00:00+00:00",
        "period": "month",
        "limit": 150,
    }


@pytest.mark.django_db
def test_user_beats_groups_the_most_generous_group_beats_the_default(user):
    finance, audit = Group.objects.create(name="finance"), Group.objects.create(name="audit")
    call_command("quota_set", "--default", "--daily", "1000", "--monthly", "20000")
    call_command("quota_set", "--group", "finance", "--daily", "5000")
    call_command("quota_set", "--group", "audit", "--daily", "3000", "--monthly", "0")
    # Others' groups count for nothing, however many they are in.
    for name in ("olga", "oscar"):
        get_user_model().objects.create_user(name).groups.add(audit, finance)

    alone = limits_for(user=user)
    user.groups.add(finance)
    in_finance = limits_for(user=user)
    user.groups.add(audit)
    in_both = limits_for(user=user)
    call_command("quota_set", "--user", "quinn", "--daily", "10")
    own = limits_for(user=user)
    call_command("quota_set", "--default", "--daily", "0")
    call_command("quota_set", "--group", "finance", "--daily", "0")

    assert alone == Limits(daily=1000, monthly=20000)
    assert in_finance == Limits(daily=5000, monthly=20000)  # monthly not set: the default
    assert in_both == Limits(daily=5000, monthly=None)  # audit's 0: no monthly limit
    assert own == Limits(daily=10, monthly=None)
    assert limits_for(user=user) == Limits(daily=10, monthly=None)
    assert Quota.objects.get(scope="default").daily_tokens == 0


@pytest.mark.django_db
def test_quota_set_refuses_unknown_names_and_negative_budgets():
    with pytest.raises(CommandError, match="No group 'nobody'"):
        call_command("quota_set", "--group", "nobody", "--daily", "5")
    with pytest.raises(CommandError, match="0 \\(no limit\\) or a positive"):
        call_command("quota_set", "--default", "--monthly", "-1")
    assert not Quota.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_provider_url")
async def test_a_reply_in_flight_is_never_cut_and_the_next_turn_is_refused_over_the_socket():
    user = await sync_to_async(make_user)("quinn")
    cookie = await sync_to_async(session_cookie_for)(user)
    assistant = await Assistant.objects.acreate(name="Helper", model=settings.LOCAL_PROVIDER_MODEL)
    await sync_to_async(quota_set)(scope=Quota.Scope.DEFAULT, daily_tokens=5)
    socket = await connected(cookie)

    done = await send_new(socket, assistant, "Tell me a long story about budgets.")
    conversation_id = done["message"]["conversation_id"]
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "More"})
    refused = await socket.until_type("error")

    # The first reply went far past 5 tokens, and was written to its end.
    assert done["message"]["status"] == "complete"
    record = await UsageRecord.objects.aget(reply_id=done["message"]["id"])
    assert record.total_tokens > 5 and record.connection == "local"
    assert refused["code"] == "over_quota"
    assert refused["conversation_id"] == conversation_id
    assert datetime.fromisoformat(refused["resets_at"]) > datetime.now(UTC)
    assert await Message.objects.filter(conversation_id=conversation_id).acount() == 2
    await socket.close()
