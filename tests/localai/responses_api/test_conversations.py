"""The Conversations API through the real SDK: conversations and their items."""

import openai
import pytest

from tests.localai.sdk import make_client


def texts(items) -> list[tuple[str, str, str]]:
    """(type, role or call id, text) of each item."""
    rows = []
    for item in items:
        if item.type == "message":
            rows.append(("message", item.role, "".join(part.text for part in item.content)))
        elif item.type == "function_call":
            rows.append(("function_call", item.call_id, item.arguments))
        else:
            rows.append((item.type, item.call_id, item.output))
    return rows


async def test_conversation_create_retrieve_update_delete(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create(
        items=[{"role": "user", "content": "Hello"}], metadata={"chat": "7"}
    )
    assert conversation.id.startswith("conv_") and conversation.object == "conversation"
    assert conversation.metadata == {"chat": "7"} and conversation.created_at > 0

    fetched = await client.conversations.retrieve(conversation.id)
    assert fetched.model_dump() == conversation.model_dump()
    updated = await client.conversations.update(conversation.id, metadata={"chat": "8"})
    assert updated.metadata == {"chat": "8"}
    assert (await client.conversations.retrieve(conversation.id)).metadata == {"chat": "8"}

    deleted = await client.conversations.delete(conversation.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (
        conversation.id,
        "conversation.deleted",
        True,
    )
    with pytest.raises(openai.NotFoundError, match="not found"):
        await client.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError):
        await client.conversations.items.list(conversation.id)


async def test_items_of_every_kind_are_stored_as_the_api_returns_them(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create(
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
            {"role": "assistant", "content": "Hello!"},
        ]
    )
    added = await client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "function_call", "call_id": "call_1", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "12:00"},
            {"role": "developer", "content": "Be brief."},
        ],
    )
    assert added.object == "list" and added.has_more is False
    kinds = [item.type for item in added.data]
    assert kinds == ["function_call", "function_call_output", "message"]
    assert added.first_id == added.data[0].id and added.last_id == added.data[-1].id
    assert added.data[0].id.startswith("fc_") and added.data[2].id.startswith("msg_")
    assert all(item.status == "completed" for item in added.data)

    listed = await client.conversations.items.list(conversation.id, order="asc")
    assert texts(listed.data) == [
        ("message", "user", "Hi"),
        ("message", "assistant", "Hello!"),
        ("function_call", "call_1", "{}"),
        ("function_call_output", "call_1", "12:00"),
        ("message", "developer", "Be brief."),
    ]
    assert listed.data[0].content[0].type == "input_text"
    assert listed.data[1].content[0].type == "output_text"

    output_id = added.data[1].id
    item = await client.conversations.items.retrieve(output_id, conversation_id=conversation.id)
    assert item.output == "12:00"
    after_delete = await client.conversations.items.delete(
        added.data[1].id, conversation_id=conversation.id
    )
    assert after_delete.id == conversation.id
    with pytest.raises(openai.NotFoundError):
        await client.conversations.items.retrieve(added.data[1].id, conversation_id=conversation.id)


async def test_item_list_pages_with_limit_order_and_after(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create(
        items=[{"role": "user", "content": f"Message {n}"} for n in range(5)]
    )
    newest_first = await client.conversations.items.list(conversation.id, limit=2)
    assert [text for _, _, text in texts(newest_first.data)] == ["Message 4", "Message 3"]
    assert newest_first.has_more is True

    page = await client.conversations.items.list(
        conversation.id, order="asc", after=newest_first.data[0].id
    )
    assert page.data == [] and page.has_more is False
    oldest = await client.conversations.items.list(conversation.id, order="asc", limit=2)
    following = await client.conversations.items.list(
        conversation.id, order="asc", limit=2, after=oldest.last_id
    )
    assert [text for _, _, text in texts(following.data)] == ["Message 2", "Message 3"]

    # The SDK follows `after` cursors page by page until `has_more` is false.
    walked = [item.id async for item in client.conversations.items.list(conversation.id, limit=2)]
    assert len(walked) == 5 and len(set(walked)) == 5


async def test_invalid_items_are_refused(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.BadRequestError) as error:
        await client.conversations.create(items=[{"type": "reasoning", "summary": []}])
    assert error.value.body["param"] == "items[0].type"
    with pytest.raises(openai.BadRequestError, match="maximum length 20"):
        await client.conversations.create(
            items=[{"role": "user", "content": "x"} for _ in range(21)]
        )
    with pytest.raises(openai.BadRequestError) as error:
        await client.conversations.create(items=[{"role": "robot", "content": "x"}])
    assert error.value.body["param"] == "items[0].role"
    conversation = await client.conversations.create()
    with pytest.raises(openai.BadRequestError) as error:
        await client.conversations.items.create(
            conversation.id, items=[{"type": "function_call_output", "output": "x"}]
        )
    assert error.value.body["param"] == "items[0].call_id"
    with pytest.raises(openai.NotFoundError, match="conv_nothing"):
        await client.conversations.items.create(
            "conv_nothing", items=[{"role": "user", "content": "x"}]
        )
