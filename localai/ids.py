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


def conversation_id() -> str:
    return new_id("conv")


def response_id() -> str:
    return new_id("resp")


# Item ids: a message item is "msg_..." like a thread message.
ITEM_PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "file_search_call": "fs",
    "code_interpreter_call": "ci",
}


def item_id(item_type: str) -> str:
    return new_id(ITEM_PREFIXES.get(item_type, "item"))


def file_id() -> str:
    # The real API's file ids use a hyphen, not an underscore.
    return "file-" + new_id("x")[2:]


def vector_store_id() -> str:
    return new_id("vs")


def file_batch_id() -> str:
    return new_id("vsfb")


def container_id() -> str:
    return new_id("cntr")


def container_file_id() -> str:
    return new_id("cfile")


def chat_completion_id() -> str:
    # As the real API's: "chatcmpl-" and 29 characters.
    return "chatcmpl-" + new_id("x")[2:] + new_id("x")[2:7]
