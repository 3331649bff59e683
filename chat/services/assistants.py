"""Assistant definitions: kept in Django, stored on the provider where the protocol has them."""

from asgiref.sync import async_to_sync
from django.db import transaction

from chat.agents import AssistantDefinition, agent_class, client_for
from chat.agents.clients import default_model
from chat.models import Assistant, Connection, Conversation, KnowledgeFile, Message, Upload

from .refusals import Refused
from .remote_cleanup import Kind, RemoteObject, remote_objects_delete, stored_files_remote_objects


def assistant_definition(assistant: Assistant) -> AssistantDefinition:
    """The definition to send; a blank model means the provider's default (ProviderError if
    the server has none)."""
    return AssistantDefinition(
        name=assistant.name,
        model=assistant.model or default_model(assistant.connection),
        instructions=assistant.instructions,
        description=assistant.description,
        tools=list(assistant.tools or []),
        remote_id=assistant.remote_id,
        function_tools=tuple(assistant.function_tools or ()),
        file_search=assistant.file_search,
        code_interpreter=assistant.code_interpreter,
        knowledge_vector_store_id=assistant.remote_vector_store_id,
        context_budget=assistant.context_budget,
    )


def assistant_agent(assistant: Assistant):
    """The agent of a saved assistant; call from async code (the client is per event loop)."""
    return agent_class(assistant.protocol)(
        client=client_for(assistant.connection),
        definition=assistant_definition(assistant),
        thread_mode=assistant.thread_mode,
    )


async def _push(*, connection: Connection, protocol: str, definition: AssistantDefinition) -> str:
    cls = agent_class(protocol)
    cls.check_definition(definition)
    if not cls.stores_definition:
        return ""  # e.g. `responses`: the definition is sent with every response instead.
    client = client_for(connection)
    if definition.remote_id:
        agent = cls(client=client, definition=definition)
        await agent.update(definition)
        return agent.id
    return (await cls.create(client=client, definition=definition)).id


def assistant_push_remote(
    *, connection: Connection, protocol: str, definition: AssistantDefinition
) -> str:
    """Creates or updates the definition on the provider; returns its remote id ("" for a
    protocol that keeps no remote definition).

    Raises ProviderError, leaving the local record to the caller, unchanged: code "invalid"
    for a definition the protocol cannot serve (provider tools on chat_completions), before
    any provider call.
    """
    return async_to_sync(_push)(connection=connection, protocol=protocol, definition=definition)


def assistant_move_checked(
    *, assistant: Assistant, connection: Connection, protocol: str, responses_thread: str = ""
) -> bool:
    """Whether saving `assistant` with this connection, protocol and responses thread moves it
    (its chats then start new remote threads); Refused where its remote definition cannot
    follow."""
    responses_thread = responses_thread or assistant.responses_thread
    moved = bool(assistant.pk) and (
        connection.pk != assistant.connection_id
        or protocol != assistant.protocol
        # Another home for a responses thread: a conversation id is no chain's head.
        or (
            protocol == Assistant.Protocol.RESPONSES
            and responses_thread != assistant.responses_thread
        )
    )
    # Moving to `responses` is allowed (the way off a retired Assistants API): the old
    # remote definition is left where it is.
    if moved and assistant.remote_id and agent_class(protocol).stores_definition:
        raise Refused(
            "moved",
            "An assistant stored on a provider cannot move to another connection or to the "
            "Assistants API. Create a new assistant instead.",
        )
    return moved


def assistant_presentation_set(
    *, assistant: Assistant, icon: str | None = None, starter_prompts: list[str] | None = None
) -> Assistant:
    """What the chat page shows of an assistant (no provider call: it is not part of the
    definition). ValidationError for an icon or prompts the page cannot show."""
    if icon is not None:
        assistant.icon = icon.strip()
    if starter_prompts is not None:
        assistant.starter_prompts = [p.strip() for p in starter_prompts if p.strip()]
    assistant.full_clean(
        exclude=[
            f.name for f in Assistant._meta.fields if f.name not in ("icon", "starter_prompts")
        ]
    )
    assistant.save(update_fields=["icon", "starter_prompts", "updated_at"])
    return assistant


def assistant_set(
    *,
    name: str,
    connection: Connection,
    protocol: str,
    model: str | None = None,
    instructions: str | None = None,
    responses_thread: str | None = None,
    context_budget: int | None = None,
) -> tuple[Assistant, bool]:
    """Creates or updates the assistant called `name` (the first one, if several share it),
    storing its definition remotely first where the protocol keeps one: a provider that
    refuses (ProviderError) leaves everything as it was. Returns it and whether it is new.
    Options left as None stay as they are (or take the model's defaults)."""
    assistant = Assistant.objects.filter(name=name).select_related("connection").first()
    created = assistant is None
    if created:
        assistant = Assistant(name=name, connection=connection, protocol=protocol)
    previous_connection = None if created else assistant.connection
    moved = assistant_move_checked(
        assistant=assistant,
        connection=connection,
        protocol=protocol,
        responses_thread=responses_thread or "",
    )
    new_connection = not created and connection.pk != assistant.connection_id
    assistant.connection, assistant.protocol = connection, protocol
    if responses_thread is not None:
        assistant.responses_thread = responses_thread
    if context_budget is not None:
        assistant.context_budget = context_budget
    if model is not None:
        assistant.model = model
    if instructions is not None:
        assistant.instructions = instructions
    if moved:
        assistant.remote_id = ""
    if new_connection:
        assistant.remote_vector_store_id = ""
    assistant.full_clean(exclude=["remote_id", "remote_vector_store_id"])
    assistant.remote_id = assistant_push_remote(
        connection=connection, protocol=protocol, definition=assistant_definition(assistant)
    )
    assistant.save()
    if moved:
        assistant_moved(assistant=assistant, previous_connection=previous_connection)
    return assistant, created


def _knowledge_remote_objects(assistant: Assistant) -> dict[str, list[RemoteObject]]:
    """The assistant's vector store and knowledge files on the provider, store first."""
    by_provider = stored_files_remote_objects(assistant.knowledge_files.all())
    if assistant.remote_vector_store_id:
        by_provider.setdefault(assistant.connection.name, []).insert(
            0, RemoteObject(Kind.VECTOR_STORE, assistant.remote_vector_store_id)
        )
    return by_provider


def assistant_delete(*, assistant: Assistant) -> None:
    """Deletes the definition on the provider, then its knowledge there, then locally.

    A failing definition deletion keeps everything (staff retry, as before). Knowledge
    deletions that fail afterwards are recorded for `retry_remote_cleanup` instead: the
    definition is gone already, and keeping the assistant for its files would only leave a
    half-deleted assistant in the admin.
    """

    async def delete_remote():
        await assistant_agent(assistant).delete()

    assistant.connection  # noqa: B018 (loaded here: delete_remote cannot query)

    if assistant.remote_id:
        async_to_sync(delete_remote)()
    for provider, objects in _knowledge_remote_objects(assistant).items():
        remote_objects_delete(provider=provider, objects=objects)
    assistant.delete()


def assistant_import(*, connection: Connection, protocol: str, remote_id: str) -> Assistant:
    """Creates (or refreshes) the local record of an assistant that exists on the provider.

    Only protocols with remote definitions can import; `responses` refuses with a readable
    ProviderError (its definitions live here; a dashboard prompt id carries no model or
    tools that the API would let us read back).
    """

    async def retrieve():
        cls = agent_class(protocol)
        return (await cls.retrieve(client=client_for(connection), remote_id=remote_id)).definition

    definition = async_to_sync(retrieve)()
    with transaction.atomic():
        assistant, _ = Assistant.objects.update_or_create(
            connection=connection,
            remote_id=definition.remote_id,
            defaults={
                "protocol": protocol,
                "name": definition.name[:256],
                "description": definition.description,
                "model": definition.model,
                "instructions": definition.instructions,
                "tools": definition.tools,
                "function_tools": list(definition.function_tools),
                "file_search": definition.file_search,
                "code_interpreter": definition.code_interpreter,
                # The remote assistant's own store: its files stay on the provider.
                "remote_vector_store_id": definition.knowledge_vector_store_id,
            },
        )
    return assistant


async def assistant_ensure_remote(assistant: Assistant) -> None:
    """Stores the definition on the provider if it is not there yet (e.g. the demo assistant,
    seeded before the site, and so its local provider, was running)."""
    cls = agent_class(assistant.protocol)
    if assistant.remote_id or not cls.stores_definition:
        return
    agent = await cls.create(
        client=client_for(assistant.connection), definition=assistant_definition(assistant)
    )
    # Compare-and-set: when two first turns race, one definition wins, the other is removed.
    won = await Assistant.objects.filter(pk=assistant.pk, remote_id="").aupdate(remote_id=agent.id)
    if won:
        assistant.remote_id = agent.id
    else:
        await agent.delete()
        await assistant.arefresh_from_db(fields=["remote_id"])


def assistant_moved(*, assistant: Assistant, previous_connection: Connection | None = None) -> None:
    """After an assistant moved to another connection or protocol: its conversations
    continue in new remote threads (the old ones belong to the old home), their transcripts
    kept.

    Files and vector stores belong to a connection, not a protocol: after a change of
    connection they are deleted on the old one and uploaded again to the new one when
    needed (knowledge at the next sync, attachments at the next turn)."""
    conversations = Conversation.objects.filter(assistant=assistant)
    conversations.update(remote_thread_id="")
    # Chain heads of an earlier home: a regenerate must not continue from one of them.
    Message.objects.filter(conversation__assistant=assistant).exclude(remote_response_id="").update(
        remote_response_id=""
    )
    if previous_connection is None or previous_connection.pk == assistant.connection_id:
        return
    previous_provider = previous_connection.name
    old_home = [
        RemoteObject(Kind.VECTOR_STORE, store_id)
        for store_id in conversations.exclude(remote_vector_store_id="").values_list(
            "remote_vector_store_id", flat=True
        )
    ]
    if assistant.remote_vector_store_id:
        old_home.append(RemoteObject(Kind.VECTOR_STORE, assistant.remote_vector_store_id))
    uploads = Upload.objects.filter(conversation__assistant=assistant)
    old_files = [*uploads, *assistant.knowledge_files.all()]
    old_home += stored_files_remote_objects(old_files).get(previous_provider, [])
    remote_objects_delete(provider=previous_provider, objects=old_home)
    conversations.update(remote_vector_store_id="")
    Assistant.objects.filter(pk=assistant.pk).update(remote_vector_store_id="")
    assistant.remote_vector_store_id = ""
    uploads.update(remote_file_id="", remote_provider="")
    assistant.knowledge_files.update(
        remote_file_id="", remote_provider="", status=KnowledgeFile.Status.PENDING, error=""
    )
