import openai
import pytest
from django.conf import settings as django_settings

from tests.chat.provider_configs import CONFIGS, configure, serving_site


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Stored files (attachments, knowledge, code output) go to the test's own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def remote():
    """A plain SDK client on the local provider, to see what the app stored there."""
    return openai.OpenAI(
        base_url=django_settings.LOCAL_PROVIDER_BASE_URL,
        api_key=django_settings.LOCAL_PROVIDER_API_KEY,
        max_retries=0,
    )


@pytest.fixture(params=CONFIGS)
def provider_config(request, monkeypatch, settings):
    """Each provider configuration in turn; Azure ones on the unretired-Assistants site."""
    site = serving_site(request, request.param)
    return configure(
        request.param, site_url=site.base_url, monkeypatch=monkeypatch, settings=settings
    )


@pytest.fixture
def local_connection():
    """The seeded `local` connection, made again after a transactional test's flush (which
    removes the rows the migrations made)."""
    from tests.chat import connections

    return connections.connection("local")
