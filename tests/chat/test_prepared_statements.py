"""Statements built once and run again (chat.prepared_statements): each must read and write
exactly what the ORM query it stands for does, on SQLite and on PostgreSQL."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.models import Assistant, Connection, Conversation, Message
from chat.prepared_statements import PreparedInsert, PreparedQuery, PreparedUpdate
from chat.services.turns import _ASSISTANT_FOR_TURN, TurnRefused, turn_create
from organisation.models import AssistantAccess, Quota
from toolservers.services.choices import offers_mcp_tools

pytestmark = pytest.mark.django_db


def _assistant(name: str, **fields) -> Assistant:
    connection_ = Connection.objects.get_or_create(
        name="prepared", defaults={"kind": Connection.Kind.OPENAI, "base_url": "http://x/v1"}
    )[0]
    return Assistant.objects.create(
        name=name, connection=connection_, protocol=Assistant.Protocol.CHAT_COMPLETIONS, **fields
    )


# The one a turn starts with (its assistant, connection, access and MCP tools in one read).
ASSISTANT = _ASSISTANT_FOR_TURN


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_a_prepared_query_reads_what_the_orm_reads_each_time_with_its_parameters():
    first = _assistant("First", tools=[{"type": "web_search"}], starter_prompts=["Hi there"])
    second = _assistant("Second", instructions="Be brief.")
    AssistantAccess.objects.create(assistant=second)
    inactive = _assistant("Gone", is_active=False)

    for assistant in (first, second, first):
        prepared = ASSISTANT.first(pk=assistant.pk)
        orm = (
            Assistant.objects.select_related("connection", "access")
            .annotate(offers_tools=offers_mcp_tools("pk"))
            .get(pk=assistant.pk)
        )
        # Every column converted as the ORM converts it (JSON lists, datetimes, booleans).
        assert _fields(prepared) == _fields(orm)
        assert prepared.tools == orm.tools and isinstance(prepared.created_at, datetime.datetime)
        assert prepared.offers_tools is False
        # select_related objects are there without a query.
        with CaptureQueriesContext(connection) as queries:
            assert _fields(prepared.connection) == _fields(orm.connection)
            has_access = hasattr(prepared, "access")
        assert queries.captured_queries == []
        assert has_access == (assistant == second)
    assert ASSISTANT.first(pk=inactive.pk) is None
    assert ASSISTANT.objects(pk=10**9) == []


def test_a_parameter_used_twice_goes_in_both_places():
    user, other = (get_user_model().objects.create(username=n) for n in ("ann", "bob"))
    Quota.objects.create(scope=Quota.Scope.USER, user=user, daily_tokens=5)
    Quota.objects.create(scope=Quota.Scope.USER, user=other, daily_tokens=7)
    quotas = PreparedQuery(
        lambda user: Quota.objects.filter(Q(user_id=user) | Q(group__user=user)),
        user=(1, 2),
    )
    assert [q.daily_tokens for q in quotas.objects(user=user.pk)] == [5]
    assert [q.daily_tokens for q in quotas.objects(user=other.pk)] == [7]


def test_values_rows_are_converted():
    user = get_user_model().objects.create(username="ann")
    pinned = timezone.now().replace(microsecond=0)
    conversation = Conversation.objects.create(
        owner=user, title="Pinned", title_is_custom=True, pinned_at=pinned
    )
    rows = PreparedQuery(
        lambda pk: Conversation.objects.filter(pk=pk).values_list(
            "title", "title_is_custom", "pinned_at"
        ),
        pk=(1, 2),
    ).rows(pk=conversation.pk)
    assert rows == [("Pinned", True, pinned)]


def test_a_query_whose_sql_changes_with_its_values_is_refused():
    refused = PreparedQuery(lambda ids: Message.objects.filter(pk__in=ids), ids=([1], [1, 2]))
    with pytest.raises(ValueError, match="changes with 'ids'"):
        refused.objects(ids=[3])
    unused = PreparedQuery(lambda pk: Message.objects.all(), pk=(1, 2))
    with pytest.raises(ValueError, match="not a parameter"):
        unused.objects(pk=1)


def test_an_insert_saves_every_field_and_gives_the_objects_their_keys():
    user = get_user_model().objects.create(username="ann")
    conversation = Conversation.objects.create(owner=user, title="T")
    messages = PreparedInsert(Message).save(
        [
            Message(conversation=conversation, role=Message.Role.USER, content="Hello"),
            Message(
                conversation=conversation,
                role=Message.Role.ASSISTANT,
                status=Message.Status.STREAMING,
                runner_channel="specific.a!b",
                tool_steps=[{"name": "search"}],
            ),
        ]
    )
    assert all(m.pk and not m._state.adding for m in messages)
    assert messages[0].created_at is not None  # auto_now_add, as save() sets it
    for message in messages:
        assert _fields(Message.objects.get(pk=message.pk)) == _fields(message)


def test_an_insert_that_breaks_a_constraint_raises_and_saves_nothing():
    user = get_user_model().objects.create(username="ann")
    conversation = Conversation.objects.create(owner=user, title="T")
    insert = PreparedInsert(Message)
    streaming = dict(
        conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING
    )
    insert.save([Message(**streaming)])
    # The partial unique index: one active reply per conversation.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert.save(
            [Message(conversation=conversation, role="user", content="x"), Message(**streaming)]
        )
    assert conversation.messages.count() == 1


def test_an_update_writes_its_fields_only_where_every_key_matches():
    user = get_user_model().objects.create(username="ann")
    named = Conversation.objects.create(owner=user, title="Mine", title_is_custom=True)
    plain = Conversation.objects.create(owner=user, title="Old")
    retitle = PreparedUpdate(Conversation, where=("pk", "title_is_custom"))
    assert retitle.run(named.pk, False, title="New") == 0
    assert retitle.run(plain.pk, False, title="New") == 1
    assert Conversation.objects.get(pk=named.pk).title == "Mine"
    assert Conversation.objects.get(pk=plain.pk).title == "New"

    later = timezone.now() + datetime.timedelta(hours=1)
    assert PreparedUpdate(Conversation).run(named.pk, updated_at=later, title="Both") == 1
    named.refresh_from_db()
    assert (named.title, named.updated_at) == ("Both", later)
    with pytest.raises(TypeError):
        retitle.run(plain.pk, title="one key short")


@pytest.mark.parametrize("assistant_id", [10**6, 2**63, -1, "abc", None])
def test_a_turn_for_an_id_that_names_no_assistant_is_refused_as_unknown(assistant_id):
    # Prepared, the id reaches the database as it is: what could not be one never does.
    user = get_user_model().objects.create(username="ann")
    with pytest.raises(TurnRefused) as refusal:
        turn_create(user=user, text="Hello", assistant_id=assistant_id)
    assert refusal.value.code == "not_found"
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("conversation_id", [10**6, 2**63, "abc"])
def test_a_turn_in_a_conversation_that_is_not_there_is_refused_as_unknown(conversation_id):
    user = get_user_model().objects.create(username="ann")
    with pytest.raises(TurnRefused) as refusal:
        turn_create(user=user, text="Hello", conversation_id=conversation_id)
    assert refusal.value.code == "not_found"
    assert not Message.objects.exists()
