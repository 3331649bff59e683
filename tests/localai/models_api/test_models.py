"""The Models API through the real SDK: the one local model, and a 404 for any other."""

import openai
import pytest
from django.conf import settings

from tests.localai.sdk import make_azure_client, make_client


async def test_the_local_model_is_listed_and_retrieved(api_url, site_url):
    client = make_client(api_url)
    listed = [model async for model in client.models.list()]
    assert [model.id for model in listed] == [settings.LOCAL_PROVIDER_MODEL]
    model = await client.models.retrieve(settings.LOCAL_PROVIDER_MODEL)
    assert model.object == "model" and model.owned_by == "localai" and model.created > 0
    azure = make_azure_client(site_url)
    assert (await azure.models.retrieve(settings.LOCAL_PROVIDER_MODEL)).id == model.id


async def test_an_unknown_model_is_a_404(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.NotFoundError) as error:
        await client.models.retrieve("gpt-unknown")
    assert error.value.code == "model_not_found"
    assert "gpt-unknown" in error.value.message
