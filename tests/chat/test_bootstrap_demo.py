"""`make run`'s first step: a demo login and demo assistants, once."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from chat.models import Assistant

pytestmark = pytest.mark.django_db


def test_a_fresh_site_gets_a_demo_login_and_both_demo_assistants(settings):
    settings.LOCAL_PROVIDER_CODE_INTERPRETER = True

    call_command("bootstrap_demo", stdout=io.StringIO())

    user = get_user_model().objects.get(username=settings.DEMO_USERNAME)
    assert user.is_staff and user.check_password(settings.DEMO_PASSWORD)
    tools = {a.name: (a.file_search, a.code_interpreter) for a in Assistant.objects.all()}
    assert tools == {"Demo assistant": (False, False), "Demo analyst": (True, True)}
    assert {a.connection.name for a in Assistant.objects.all()} == {"local"}


def test_later_runs_change_nothing_and_respect_a_switched_off_interpreter(settings):
    settings.LOCAL_PROVIDER_CODE_INTERPRETER = False
    call_command("bootstrap_demo", stdout=io.StringIO())
    Assistant.objects.filter(name="Demo assistant").delete()

    call_command("bootstrap_demo", stdout=io.StringIO())

    assert list(Assistant.objects.values_list("name", "code_interpreter")) == [
        ("Demo analyst", False)
    ]
