import pytest
from django.conf import settings

from tests.provider_server import SiteServer


@pytest.fixture(scope="session")
def site_server(tmp_path_factory):
    """The whole site in a Daphne subprocess; its local provider is what the tests talk to."""
    server = SiteServer(tmp_path_factory.mktemp("site")).start()
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
