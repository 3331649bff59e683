"""`manage.py bootstrap_model_demo` (`make run-model`): the keyless connection `smollm2` and
the assistant "Demo SmolLM2" on it, created once and brought up to date on later runs. The
chat with the real model itself is tests/real_model's."""

import pytest
from django.core.management import CommandError, call_command

from chat.agents.clients import NO_API_KEY, provider_config
from chat.models import Assistant, Connection

pytestmark = [pytest.mark.django_db]


def test_creates_the_connection_and_assistant_then_follows_a_new_port(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    call_command("bootstrap_model_demo", "--base-url", "http://127.0.0.1:8081/v1", "--model", "m1")
    call_command(
        "bootstrap_model_demo",
        "--base-url",
        "http://127.0.0.1:8082/v1",
        "--model",
        "m2",
        "--context-budget",
        "1000",
    )

    connection = Connection.objects.get(name="smollm2")
    assert (connection.kind, connection.base_url, connection.default_model) == (
        "openai",
        "http://127.0.0.1:8082/v1",
        "m2",
    )
    assert provider_config(connection).api_key == NO_API_KEY  # the server has no key
    demo = Assistant.objects.get(name="Demo SmolLM2")
    assert (demo.connection, demo.protocol, demo.model, demo.context_budget) == (
        connection,
        "chat_completions",
        "",  # the connection's default model
        1000,
    )
    assert "SmolLM2-135M" in demo.description
    assert Assistant.objects.filter(name="Demo SmolLM2").count() == 1


def test_a_server_that_lists_no_model_is_a_readable_error():
    with pytest.raises(CommandError, match="answered no model; give --model"):
        call_command("bootstrap_model_demo", "--base-url", "http://127.0.0.1:9/v1")
