"""Object ids shaped like the real API's: a type prefix and a random suffix."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


# Named callables so that model field defaults can be serialised into migrations.
def assistant_id() -> str:
    return new_id("asst")


def thread_id() -> str:
    return new_id("thread")


def message_id() -> str:
    return new_id("msg")


def run_id() -> str:
    return new_id("run")


def step_id() -> str:
    return new_id("step")


def call_id() -> str:
    return new_id("call")
