"""Validation of the Assistants API's parameters, answered with the real API's 400 errors."""

from localai.assistants_api.objects import text_block
from localai.http.params import invalid, metadata

TOOL_TYPES = ("function", "code_interpreter", "file_search")
CONTENT_PART_TYPES = ("text", "image_url", "image_file")


def tools(body: dict, param: str = "tools") -> list[dict] | None:
    value = body.get(param)
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid(param, f"Invalid type for '{param}': expected an array.")
    for index, tool in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(tool, dict) or tool.get("type") not in TOOL_TYPES:
            raise invalid(where, f"Invalid '{where}': type must be one of {', '.join(TOOL_TYPES)}.")
        if tool["type"] == "function":
            function = tool.get("function")
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise invalid(f"{where}.function.name", f"Missing '{where}.function.name'.")
    return value


def message_content(value: object, param: str = "content") -> list[dict]:
    """Content as a string or as content parts, stored as the blocks the API returns."""
    if isinstance(value, str):
        return [text_block(value)]
    if not isinstance(value, list) or not value:
        raise invalid(param, f"Invalid '{param}': expected a string or an array of parts.")
    blocks = []
    for index, part in enumerate(value):
        where = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in CONTENT_PART_TYPES or not isinstance(part.get(kind), str | dict):
            raise invalid(
                where, f"Invalid '{where}': type must be one of {', '.join(CONTENT_PART_TYPES)}."
            )
        if kind == "text":
            if not isinstance(part["text"], str):
                raise invalid(where, f"Invalid '{where}.text': expected a string.")
            blocks.append(text_block(part["text"]))
        else:
            blocks.append({"type": kind, kind: part[kind]})
    return blocks


def message_fields(body: dict, param: str = "") -> dict:
    """The fields of a message created from `{"role", "content", ...}`."""
    prefix = f"{param}." if param else ""
    role = body.get("role")
    if role not in ("user", "assistant"):
        raise invalid(f"{prefix}role", f"Invalid '{prefix}role': expected 'user' or 'assistant'.")
    if "content" not in body:
        raise invalid(f"{prefix}content", f"Missing required parameter: '{prefix}content'.")
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list):
        raise invalid(f"{prefix}attachments", f"Invalid '{prefix}attachments'.")
    return {
        "role": role,
        "content": message_content(body["content"], f"{prefix}content"),
        "attachments": attachments,
        "metadata": metadata(body, "metadata") or {},
    }


def message_list(body: dict, param: str) -> list[dict]:
    value = body.get(param)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(param, f"Invalid type for '{param}': expected an array.")
    return [
        message_fields(item if isinstance(item, dict) else {}, f"{param}[{index}]")
        for index, item in enumerate(value)
    ]


def tool_choice(body: dict) -> object:
    value = body.get("tool_choice")
    if value is None:
        return None
    if value in ("none", "auto", "required"):
        return value
    if isinstance(value, dict) and value.get("type") in TOOL_TYPES:
        return value
    raise invalid("tool_choice", "Invalid 'tool_choice'.")
