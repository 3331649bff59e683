"""Bulk set-up in the server's database: users signed in through sessions, the assistant,
and the conversations of the page benchmark. Runs in the bench process (Django set up on the
same database files as the servers)."""

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction

from chat.models import Assistant, Connection, Conversation, Message

BACKEND = "django.contrib.auth.backends.ModelBackend"


def signed_in_users(count: int, prefix: str) -> list[str]:
    """Creates `count` users and a session for each; returns their `Cookie` header values."""
    User = get_user_model()
    password = make_password("bench-password-123")  # hashed once: PBKDF2 is slow on purpose
    with transaction.atomic():
        User.objects.bulk_create(
            User(username=f"{prefix}{number}", password=password) for number in range(count)
        )
        users = list(User.objects.filter(username__startswith=prefix).order_by("pk"))
        return [session_cookie(user) for user in users]


def session_cookie(user) -> str:
    """A signed-in session for `user`, as a `Cookie` header value."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def bench_assistant(*, model: str) -> Assistant:
    """The assistant of the page benchmark's conversations (never asked anything)."""
    return Assistant.objects.create(
        name="Bench assistant", model=model, protocol=Assistant.Protocol.ASSISTANTS
    )


def emitter_connection(*, name: str, base_url: str) -> Connection:
    """The connection to the benchmark's stream source (an OpenAI-compatible server that
    asks for no key), without retries: a failed request shows in the phase's errors."""
    return Connection.objects.create(
        name=name, kind=Connection.Kind.OPENAI, base_url=base_url, max_retries=0
    )


def page_user(*, username: str, conversations: int, assistant: Assistant):
    """A user with `conversations` conversations, created in bulk."""
    user = get_user_model().objects.create_user(username=username, password=None)
    Conversation.objects.bulk_create(
        (
            Conversation(owner=user, assistant=assistant, title=f"Conversation number {number}")
            for number in range(conversations)
        ),
        batch_size=2000,
    )
    return user


TURN_TEXT = (
    "Here is a paragraph of **markdown** with a list:\n\n- one item\n- another item\n\n"
    "and a little `code`, about as long as a short chat message in a real transcript."
)


def transcript(*, user, assistant: Assistant, messages: int) -> Conversation:
    """A conversation of `messages` messages, alternating user and assistant."""
    conversation = Conversation.objects.create(owner=user, assistant=assistant, title="Long one")
    roles = (Message.Role.USER, Message.Role.ASSISTANT)
    Message.objects.bulk_create(
        (
            Message(conversation=conversation, role=roles[n % 2], content=f"{n}. {TURN_TEXT}")
            for n in range(messages)
        ),
        batch_size=1000,
    )
    return conversation
