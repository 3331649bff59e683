"""Validation of a chat completion request, with the real API's 400s.

Messages are kept as the client sent them, checked; the model reads their text
(`message_text`). Tools are function tools in the Chat Completions shape, `{"type":
"function", "function": {"name", "description", "parameters", "strict"}}`; the flat
Responses shape is a 400, as in the real API. Parameters the local model cannot honour are
a readable 400 (`n` above 1, a JSON `response_format`); unknown parameters are ignored, as
by the other endpoints.
"""

from dataclasses import dataclass

from localai.http import params
from localai.http.errors import APIError
from localai.http.params import invalid

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
TEXT_PART_TYPES = ("text",)
USER_PART_TYPES = ("text", "image_url", "input_audio", "file")
ASSISTANT_PART_TYPES = ("text", "refusal")
TOOL_CHOICES = ("none", "auto", "required")


@dataclass(frozen=True)
class CompletionRequest:
    model: str
    messages: list[dict]
    tools: list[dict]
    tool_choice: object
    stream: bool
    include_usage: bool
    max_tokens: int | None
    parallel_tool_calls: bool
    temperature: float
    top_p: float


def _unsupported(param: str, message: str) -> APIError:
    return APIError(400, message, param=param, code="unsupported_value")


def _flag(body: dict, param: str) -> bool:
    value = body.get(param)
    if value is not None and not isinstance(value, bool):
        raise invalid(param, f"Invalid type for '{param}': expected a boolean, but got {value!r}.")
    return bool(value)


def _parts(content: list, where: str, types: tuple[str, ...]) -> list[dict]:
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in types:
            raise invalid(
                f"{where}[{index}].type",
                f"Invalid value: {kind!r}. Supported values are: "
                f"{', '.join(repr(name) for name in types)}.",
            )
        field = "refusal" if kind == "refusal" else "text" if kind == "text" else None
        if field and not isinstance(part.get(field), str):
            raise params.missing(f"{where}[{index}].{field}")
    return content


def _content(message: dict, where: str, role: str) -> None:
    content = message.get("content")
    if content is None and (role == "assistant" and message.get("tool_calls")):
        return
    if content is None and role == "assistant":
        raise invalid(
            f"{where}.content",
            f"Invalid value for '{where}.content': expected a string or an array of content "
            "parts when the assistant message has no 'tool_calls'.",
        )
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise (
            params.missing(f"{where}.content")
            if content is None
            else invalid(
                f"{where}.content",
                f"Invalid type for '{where}.content': expected a string or an array of "
                "content parts.",
            )
        )
    types = {"user": USER_PART_TYPES, "assistant": ASSISTANT_PART_TYPES}.get(role, TEXT_PART_TYPES)
    _parts(content, f"{where}.content", types)


def _tool_calls(message: dict, where: str) -> None:
    calls = message.get("tool_calls")
    if calls is None:
        return
    if not isinstance(calls, list):
        raise invalid(f"{where}.tool_calls", f"Invalid type for '{where}.tool_calls'.")
    for index, call in enumerate(calls):
        at = f"{where}.tool_calls[{index}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            raise params.missing(f"{at}.id" if isinstance(function, dict) else f"{at}.function")
        for field in ("name", "arguments"):
            if not isinstance(function.get(field), str):
                raise params.missing(f"{at}.function.{field}")


def _message(message: object, where: str) -> dict:
    if not isinstance(message, dict):
        raise invalid(where, f"Invalid type for '{where}': expected an object.")
    role = message.get("role")
    if role not in ROLES:
        raise invalid(
            f"{where}.role",
            f"Invalid value: {role!r}. Supported values are: "
            f"{', '.join(repr(name) for name in ROLES)}.",
        )
    _content(message, where, role)
    if role == "assistant":
        _tool_calls(message, where)
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise params.missing(f"{where}.tool_call_id")
    return message


def messages(body: dict) -> list[dict]:
    value = body.get("messages")
    if value is None:
        raise params.missing("messages")
    if not isinstance(value, list):
        raise invalid("messages", "Invalid type for 'messages': expected an array.")
    if not value:
        raise APIError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
            "got an empty array instead.",
            param="messages",
            code="empty_array",
        )
    return [_message(message, f"messages[{index}]") for index, message in enumerate(value)]


def message_text(message: dict) -> str:
    """The text a message carries, for the model and for counting tokens."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text") or part.get("refusal") or "" for part in content)
    return ""


def tools(body: dict) -> list[dict]:
    value = body.get("tools")
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("tools", "Invalid type for 'tools': expected an array.")
    result = []
    for index, tool in enumerate(value):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise invalid(
                f"{where}.type",
                f"Invalid value for '{where}.type': the local provider supports 'function' "
                "tools only.",
            )
        function = tool.get("function")
        if not isinstance(function, dict):
            # A tool in the Responses API's flat shape ends up here, as in the real API.
            raise params.missing(f"{where}.function")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise params.missing(f"{where}.function.name")
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise invalid(f"{where}.function.parameters", f"Invalid '{where}.function.parameters'.")
        result.append({"type": "function", "function": function})
    return result


def tool_choice(body: dict, offered: list[dict]) -> object:
    value = body.get("tool_choice")
    if value is None:
        return "auto" if offered else "none"
    if not offered:
        raise invalid(
            "tool_choice",
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are "
            "specified.",
        )
    if value in TOOL_CHOICES:
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        function = value.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return {"type": "function", "function": {"name": function["name"]}}
    raise invalid("tool_choice", "Invalid 'tool_choice'.")


def _max_tokens(body: dict) -> int | None:
    given = [name for name in ("max_tokens", "max_completion_tokens") if body.get(name) is not None]
    if len(given) == 2:
        raise invalid(
            "max_tokens",
            "Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.",
        )
    if not given:
        return None
    value = body[given[0]]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid(
            given[0],
            f"Invalid '{given[0]}': integer below minimum value. Expected a value >= 1, but got "
            f"{value!r} instead.",
        )
    return value


def _n(body: dict) -> None:
    value = body.get("n")
    if value is None or (value == 1 and not isinstance(value, bool)):
        return
    raise _unsupported(
        "n",
        f"Invalid 'n': the local model writes one choice per request (n=1), but got {value!r}.",
    )


def _response_format(body: dict) -> None:
    value = body.get("response_format")
    if value is None:
        return
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return
    if kind in ("json_object", "json_schema"):
        raise _unsupported(
            "response_format",
            f"Invalid 'response_format': the local model cannot write '{kind}'; it only "
            "writes text (its echo of your message).",
        )
    raise invalid(
        "response_format.type",
        "Invalid value for 'response_format.type': expected one of 'text', 'json_object', "
        "'json_schema'.",
    )


def _include_usage(body: dict, stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not stream:
        raise invalid(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        )
    if not isinstance(options, dict):
        raise invalid("stream_options", "Invalid type for 'stream_options': expected an object.")
    return _flag(options, "include_usage")


def _number(body: dict, param: str, *, high: float) -> float:
    value = params.optional_number(body, param, low=0.0, high=high)
    return 1.0 if value is None else value


def completion_request(body: dict) -> CompletionRequest:
    model = params.required_string(body, "model")
    offered = tools(body)
    stream = _flag(body, "stream")
    _n(body)
    _response_format(body)
    params.optional_string(body, "user")
    params.metadata(body)
    return CompletionRequest(
        model=model,
        messages=messages(body),
        tools=offered,
        tool_choice=tool_choice(body, offered),
        stream=stream,
        include_usage=_include_usage(body, stream),
        max_tokens=_max_tokens(body),
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        temperature=_number(body, "temperature", high=2.0),
        top_p=_number(body, "top_p", high=1.0),
    )
