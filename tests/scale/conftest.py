"""Scale-out tests: real Daphne processes sharing the PostgreSQL database and Redis of the run.

The servers use the very database pytest-django made for this run (`test_<name>`): the tests
are transactional, so what a test writes (users, sessions, assistants) is committed and the
servers see it, and the flush after each test clears what the servers wrote too. The servers
are started after that database exists and stopped before it is dropped.

The provider is one more process (the session's `site_server`), as a remote service would be:
every app process reaches the same one, so a conversation's remote thread outlives the process
that started it.
"""

from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.scale.support import SCALE_REASON, app_process, scale_configured


def shared_database_url() -> str:
    """The URL of the test database this run created, for the server processes."""
    db = connection.settings_dict
    credentials = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def scale_env(django_db_setup, site_server) -> dict[str, str]:
    """Environment of an app process: the shared database, Redis and provider."""
    if not scale_configured():
        pytest.skip(SCALE_REASON)
    return {
        "DATABASE_URL": shared_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "LOCAL_PROVIDER_BASE_URL": f"{site_server.base_url}/local/v1",
        # Saved often, so that what a killed process leaves behind is worth checking.
        "CHAT_REPLY_SAVE_INTERVAL": "0.1",
    }


@pytest.fixture(scope="session")
def two_processes(scale_env, tmp_path_factory):
    """Two Daphne processes on different ports, as behind a load balancer."""
    servers = []
    try:
        for name in ("a", "b"):
            servers.append(app_process(tmp_path_factory.mktemp(f"process-{name}"), scale_env))
        yield servers
    finally:
        for server in servers:
            server.stop()
