"""Usage: what every reply used is kept (provider's count, or an estimate, marked), and staff
see it per day, per assistant and model, with costs, top users and a CSV export; each user
sees their own usage and what is left."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from chat.models import Assistant
from organisation.models import ModelPrice, Quota, UsageRecord
from organisation.quotas import periods_at, spent_by
from organisation.services.settings import quota_set
from tests.chat.wsclient import make_user, session_cookie_for
from tests.organisation.support import connected, send_new


def _record(user, assistant_name, model, inp, out, *, days_ago=0, estimated=False):
    at = timezone.now() - timedelta(days=days_ago)
    return UsageRecord.objects.create(
        user=user,
        assistant_name=assistant_name,
        connection="openai",
        model=model,
        input_tokens=inp,
        output_tokens=out,
        total_tokens=inp + out,
        estimated=estimated,
        created_at=at,
        finished_at=at,
    )


@pytest.fixture
def usage_data(db):
    ada, bob = make_user("ada"), make_user("bob")
    ModelPrice.objects.create(
        model="gpt-4.1-mini", input_per_million=Decimal("0.40"), output_per_million=Decimal("1.60")
    )
    _record(ada, "Travel helper", "gpt-4.1-mini", 1_000_000, 500_000, days_ago=1)
    _record(ada, "Travel helper", "gpt-4.1-mini", 200_000, 100_000)
    _record(bob, "Ledger", "llama3.2", 3000, 1000, estimated=True)
    return ada, bob


def _staff_client():
    staff = get_user_model().objects.create_user(
        "root", password="pw", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(staff)
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_provider_url")
async def test_each_reply_keeps_its_tokens_connection_and_model_and_a_stopped_one_is_estimated():
    user = await sync_to_async(make_user)("ada")
    socket = await connected(await sync_to_async(session_cookie_for)(user))
    # Chat Completions: the local provider reports usage in its final chunk.
    assistant = await Assistant.objects.acreate(
        name="Helper", model=settings.LOCAL_PROVIDER_MODEL, protocol="chat_completions"
    )

    done = await send_new(socket, assistant, "Hello there")
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": done["message"]["conversation_id"],
            "text": "[[delay:0.2]] A slow one to stop",
        }
    )
    await socket.receive_until(lambda f: f["type"] == "message.delta")
    await socket.send({"type": "turn.stop", "conversation_id": done["message"]["conversation_id"]})
    stopped = await socket.until_type("message.done")

    counted = await UsageRecord.objects.aget(reply_id=done["message"]["id"])
    guessed = await UsageRecord.objects.aget(reply_id=stopped["message"]["id"])
    assert (counted.connection, counted.model) == ("local", done["message"]["model"])
    assert counted.input_tokens == done["message"]["usage"]["input_tokens"]
    assert counted.output_tokens == done["message"]["usage"]["output_tokens"]
    assert counted.estimated is False and counted.finished_at is not None
    assert stopped["message"]["status"] == "cancelled" and stopped["message"]["usage"] is None
    assert guessed.estimated is True
    assert guessed.output_tokens >= len(stopped["message"]["content"]) // 4
    assert guessed.input_tokens > 0
    await socket.close()


@pytest.mark.django_db
def test_the_admin_usage_page_charts_costs_and_ranks_the_period(usage_data):
    client = _staff_client()

    page = client.get("/admin/organisation/usagerecord/").content.decode()
    by_model = client.get("/admin/organisation/usagerecord/?by=model").content.decode()

    assert "Tokens per day, per assistant" in page and "Cost per day, per assistant" in page
    assert page.count("<rect ") >= 3  # a bar per day and series, in both charts
    assert "Travel helper" in page and "Ledger" in page
    # 1.2M input at 0.40 + 0.6M output at 1.60 per million = 0.48 + 0.96.
    assert "1.44" in page
    assert "1 replies estimated from their text" in page
    assert "1 estimated" in page  # Bob's row in the top users
    assert "1 replies of models without a price" in page
    assert page.index(">ada<") < page.index(">bob<")  # top users, most tokens first
    assert "llama3.2" in by_model and "style=" not in page.split('id="content-main"')[1]


@pytest.mark.django_db
def test_the_csv_export_has_a_row_per_reply_of_the_period_with_its_cost(usage_data):
    client = _staff_client()
    today = timezone.localdate()

    response = client.get(f"/admin/organisation/usagerecord/export.csv?start={today}&end={today}")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][:5] == ["started_at", "user", "assistant", "connection", "model"]
    assert sorted((r[1], r[2], r[7], r[8]) for r in rows[1:]) == [
        ("ada", "Travel helper", "no", "0.240000"),  # 0.2M in at 0.40 + 0.1M out at 1.60
        ("bob", "Ledger", "yes", ""),  # estimated; llama3.2 has no price
    ]


@pytest.mark.django_db
def test_the_usage_page_is_staff_only(usage_data):
    ada, _ = usage_data
    client = Client()
    client.force_login(ada)

    response = client.get("/admin/organisation/usagerecord/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_a_user_sees_their_own_usage_and_what_is_left(usage_data):
    _, bob = usage_data
    quota_set(scope=Quota.Scope.DEFAULT, daily_tokens=10_000)
    client = Client()
    client.force_login(bob)

    page = client.get("/usage/").content.decode()
    chat = client.get("/").content.decode()

    assert "4,000</strong> of 10,000 tokens used" in page
    assert "6,000</strong> left" in page
    assert "(estimated)" in page and "Ledger" in page
    assert "Travel helper" not in page  # Ada's, not Bob's
    # The chat page's user menu links to it (built from the page's data).
    assert '"usage": "/usage/"' in chat


@pytest.mark.django_db
def test_a_reply_counts_on_the_day_it_started(usage_data):
    ada, _ = usage_data

    spent = spent_by(user=ada, periods=periods_at(timezone.now()))

    assert spent.day == 300_000  # yesterday's 1.5M counts for the month only
    assert periods_at(datetime(2026, 1, 31, 12, tzinfo=UTC)).month_end == datetime(
        2026, 2, 1, tzinfo=UTC
    )
