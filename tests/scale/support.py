"""Helpers of the scale-out tests: who is signed in, and sockets to real processes."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from chat.models import Assistant, Message
from tests.provider_server import SiteServer
from tests.scale.live_socket import LiveChatSocket, make_user, session_cookie

SCALE_REASON = (
    "needs REDIS_URL and a PostgreSQL DATABASE_URL: run `make test-scale` (CI's second pass)"
)


def scale_configured() -> bool:
    engine = settings.DATABASES["default"]["ENGINE"]
    return bool(settings.REDIS_URL) and engine == "django.db.backends.postgresql"


requires_scale = pytest.mark.skipif(not scale_configured(), reason=SCALE_REASON)


@sync_to_async
def signed_in(username: str) -> tuple[object, str]:
    user = make_user(username)
    return user, session_cookie(user)


@sync_to_async
def local_assistant() -> Assistant:
    return Assistant.objects.create(name="Helper", model=settings.LOCAL_PROVIDER_MODEL)


@sync_to_async
def messages_of(conversation_id: int) -> list[Message]:
    return list(Message.objects.filter(conversation_id=conversation_id).order_by("id"))


def app_process(var_dir, scale_env: dict[str, str], **overrides: str) -> SiteServer:
    """A started Daphne process of the site, over the run's database (migrated already)."""
    return SiteServer(var_dir, extra_env={**scale_env, **overrides}, migrate=False).start()


async def live_socket(server: SiteServer, cookie: str) -> LiveChatSocket:
    socket = LiveChatSocket(server.ws_url, cookie)
    await socket.connect()
    return socket
