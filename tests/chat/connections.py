"""The connections tests use: the ones migration 0005 seeds (`local`, `openai`, `azure`),
created again where a transactional test emptied the database."""

import importlib

from asgiref.sync import sync_to_async

from chat.models import Connection

SEEDS = importlib.import_module("chat.migrations.0005_provider_connections").SEEDS


def seed_connection(name: str) -> Connection:
    """An unsaved copy of a seeded connection: enough for the agent layer, no database."""
    return Connection(name=name, **SEEDS[name])


def connection(name: str = "local") -> Connection:
    """The seeded connection `name`, from the database."""
    found, _ = Connection.objects.get_or_create(name=name, defaults=SEEDS[name])
    return found


aconnection = sync_to_async(connection)
