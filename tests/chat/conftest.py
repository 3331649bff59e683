import pytest

from tests.chat.provider_configs import CONFIGS, configure


@pytest.fixture(params=CONFIGS)
def provider_config(request, monkeypatch, settings):
    """Each provider configuration in turn; Azure ones on the unretired-Assistants site."""
    if request.param.startswith("azure"):
        site = request.getfixturevalue("assistants_retired_server")
    else:
        site = request.getfixturevalue("site_server")
    return configure(
        request.param, site_url=site.base_url, monkeypatch=monkeypatch, settings=settings
    )
