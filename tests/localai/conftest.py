import pytest


@pytest.fixture
def api_url(site_server) -> str:
    """The base URL of the local provider served by the Daphne subprocess."""
    return f"{site_server.base_url}/local/v1"


@pytest.fixture
def site_url(site_server) -> str:
    """The site's root URL; Azure clients take `<site>/local` as their endpoint."""
    return site_server.base_url
