import pytest
from django.conf import settings
from django.db import connections

from tests.provider_server import SiteServer


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, emptied of sessions before they are dropped.

    Connections opened in asgiref's worker threads (async tests, consumers) are never closed
    by the run, and PostgreSQL refuses to drop a database that still has sessions.
    """
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(scope="session")
def site_server(tmp_path_factory):
    """The whole site in a Daphne subprocess; its local provider is what the tests talk to."""
    server = SiteServer(tmp_path_factory.mktemp("site")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def assistants_retired_server(tmp_path_factory):
    """A second site with the opposite retirement switches: its local provider answers the
    OpenAI-style Assistants API (/local/v1/assistants, threads, runs) with 410 Gone, and
    serves it on the Azure-style routes. Started only by the tests that ask for it."""
    server = SiteServer(
        tmp_path_factory.mktemp("retired-site"),
        extra_env={
            "LOCAL_PROVIDER_ASSISTANTS_RETIRED": "true",
            "LOCAL_PROVIDER_AZURE_ASSISTANTS_RETIRED": "false",
        },
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def local_provider_url(site_server):
    """Points the app under test at the subprocess's local provider."""
    url = f"{site_server.base_url}/local/v1"
    previous = settings.LOCAL_PROVIDER_BASE_URL
    settings.LOCAL_PROVIDER_BASE_URL = url
    yield url
    settings.LOCAL_PROVIDER_BASE_URL = previous
