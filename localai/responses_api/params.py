"""Validation of the Responses and Conversations APIs' parameters, with the real API's 400s.

Input items become item bodies as the API returns them (without their id): a string input
is one user message, content strings become `input_text` (or, for the assistant,
`output_text`) parts.
"""

from localai.http.params import invalid
from localai.responses_api.objects import function_call_body, message_item_body, output_text_part

# The most items one request may add to a conversation, as in the real API.
MAX_ITEMS_PER_REQUEST = 20
# The real API refuses smaller output budgets.
MIN_OUTPUT_TOKENS = 16
ITEM_TYPES = ("message", "function_call", "function_call_output")
MESSAGE_ROLES = ("user", "assistant", "system", "developer")
INPUT_PART_TYPES = ("input_text", "input_image", "input_file")
ASSISTANT_PART_TYPES = ("output_text", "refusal")


def _required_string(item: dict, name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str):
        raise invalid(f"{where}.{name}", f"Missing required parameter: '{where}.{name}'.")
    return value


def input_text_part(text: str) -> dict:
    return {"type": "input_text", "text": text}


def _part_type(part: object, where: str, types: tuple[str, ...]) -> str:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind not in types:
        raise invalid(where, f"Invalid '{where}.type': expected one of {', '.join(types)}.")
    return kind


def _input_part(part: object, where: str) -> dict:
    kind = _part_type(part, where, INPUT_PART_TYPES)
    if kind == "input_text":
        return input_text_part(_required_string(part, "text", where))
    # Images and files are kept as given; the local model does not look at them.
    return dict(part)


def _assistant_part(part: object, where: str) -> dict:
    kind = _part_type(part, where, ASSISTANT_PART_TYPES)
    if kind == "refusal":
        return {"type": "refusal", "refusal": _required_string(part, "refusal", where)}
    return output_text_part(_required_string(part, "text", where))


def _message_body(item: dict, where: str) -> dict:
    role = item.get("role")
    if role not in MESSAGE_ROLES:
        raise invalid(
            f"{where}.role", f"Invalid '{where}.role': expected one of {', '.join(MESSAGE_ROLES)}."
        )
    content = item.get("content")
    assistant = role == "assistant"
    if isinstance(content, str):
        parts = [output_text_part(content) if assistant else input_text_part(content)]
    elif isinstance(content, list):
        make = _assistant_part if assistant else _input_part
        parts = [make(part, f"{where}.content[{index}]") for index, part in enumerate(content)]
    else:
        raise invalid(
            f"{where}.content",
            f"Invalid '{where}.content': expected a string or an array of content parts.",
        )
    return message_item_body(role, parts)


def _function_call_output_body(item: dict, where: str) -> dict:
    output = item.get("output")
    if isinstance(output, list):
        parts = f"{where}.output"
        output = [_input_part(part, f"{parts}[{index}]") for index, part in enumerate(output)]
    elif not isinstance(output, str):
        raise invalid(f"{where}.output", f"Missing required parameter: '{where}.output'.")
    return {
        "type": "function_call_output",
        "status": "completed",
        "call_id": _required_string(item, "call_id", where),
        "output": output,
    }


def item_body(item: object, where: str) -> dict:
    if not isinstance(item, dict):
        raise invalid(where, f"Invalid '{where}': expected an object.")
    # Easy input messages ({"role", "content"}) may leave out their type.
    kind = item.get("type", "message")
    if kind == "message":
        return _message_body(item, where)
    if kind == "function_call":
        return function_call_body(
            _required_string(item, "call_id", where),
            _required_string(item, "name", where),
            _required_string(item, "arguments", where),
            "completed",
        )
    if kind == "function_call_output":
        return _function_call_output_body(item, where)
    raise invalid(
        f"{where}.type",
        f"Invalid value: '{kind}'. The local provider supports these item types: "
        f"{', '.join(ITEM_TYPES)}.",
    )


def input_items(value: object, param: str = "input") -> list[dict]:
    """The item bodies of a response's `input` (a string, or an array of items)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [message_item_body("user", [input_text_part(value)])]
    if not isinstance(value, list):
        raise invalid(param, f"Invalid '{param}': expected a string or an array of items.")
    return [item_body(item, f"{param}[{index}]") for index, item in enumerate(value)]


def conversation_items(value: object, param: str = "items") -> list[dict]:
    """The item bodies added to a conversation: at most 20 per request."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(param, f"Invalid type for '{param}': expected an array.")
    if len(value) > MAX_ITEMS_PER_REQUEST:
        raise invalid(
            param,
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{MAX_ITEMS_PER_REQUEST}, but got an array with length {len(value)} instead.",
        )
    return [item_body(item, f"{param}[{index}]") for index, item in enumerate(value)]


def tools(body: dict) -> list[dict]:
    """Function tools, flat as the Responses API takes them, echoed with their defaults."""
    value = body.get("tools")
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("tools", "Invalid type for 'tools': expected an array.")
    result = []
    for index, tool in enumerate(value):
        where = f"tools[{index}]"
        if isinstance(tool, dict) and tool.get("type") == "file_search":
            result.append(file_search_tool(tool, where))
            continue
        if isinstance(tool, dict) and tool.get("type") == "code_interpreter":
            result.append(code_interpreter_tool(tool, where))
            continue
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise invalid(
                f"{where}.type",
                f"Invalid '{where}.type': the local provider supports 'function', "
                "'file_search' and 'code_interpreter'.",
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            # A tool in the Assistants API's nested shape ends up here, as in the real API.
            raise invalid(f"{where}.name", f"Missing required parameter: '{where}.name'.")
        parameters = tool.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise invalid(f"{where}.parameters", f"Invalid '{where}.parameters'.")
        result.append(
            {
                "type": "function",
                "name": name,
                "description": tool.get("description"),
                "parameters": parameters,
                "strict": tool.get("strict", True) is not False,
            }
        )
    return result


def file_search_tool(tool: dict, where: str) -> dict:
    """A file_search tool, echoed with its defaults as the real API does."""
    store_ids = tool.get("vector_store_ids")
    if not isinstance(store_ids, list) or not all(isinstance(item, str) for item in store_ids):
        raise invalid(
            f"{where}.vector_store_ids", f"Missing required parameter: '{where}.vector_store_ids'."
        )
    max_num_results = tool.get("max_num_results")
    if max_num_results is not None and (
        isinstance(max_num_results, bool)
        or not isinstance(max_num_results, int)
        or not 1 <= max_num_results <= 50
    ):
        raise invalid(f"{where}.max_num_results", f"Invalid '{where}.max_num_results'.")
    ranking = tool.get("ranking_options")
    if ranking is not None and not isinstance(ranking, dict):
        raise invalid(f"{where}.ranking_options", f"Invalid '{where}.ranking_options'.")
    ranking = ranking or {}
    threshold = ranking.get("score_threshold", 0.0)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise invalid(f"{where}.ranking_options", f"Invalid '{where}.ranking_options'.")
    return {
        "type": "file_search",
        "vector_store_ids": store_ids,
        "filters": tool.get("filters"),
        "max_num_results": max_num_results or 20,
        "ranking_options": {
            "ranker": ranking.get("ranker") or "auto",
            "score_threshold": float(threshold),
        },
    }


def code_interpreter_tool(tool: dict, where: str) -> dict:
    """A code_interpreter tool: its container is an id, or `{"type": "auto", "file_ids"}`."""
    container = tool.get("container")
    if isinstance(container, str) and container:
        return {"type": "code_interpreter", "container": container}
    if not isinstance(container, dict) or container.get("type") != "auto":
        raise invalid(
            f"{where}.container",
            f"Invalid '{where}.container': expected a container id or "
            "{'type': 'auto', 'file_ids': [...]}.",
        )
    file_ids = container.get("file_ids") or []
    if not isinstance(file_ids, list) or not all(isinstance(item, str) for item in file_ids):
        raise invalid(f"{where}.container.file_ids", f"Invalid '{where}.container.file_ids'.")
    echoed = {"type": "auto", "file_ids": file_ids}
    if container.get("memory_limit") in ("1g", "4g", "16g", "64g"):
        echoed["memory_limit"] = container["memory_limit"]
    return {"type": "code_interpreter", "container": echoed}


def include(body: dict) -> tuple[str, ...]:
    value = body.get("include")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid("include", "Invalid 'include': expected an array of strings.")
    return tuple(value)


def tool_choice(body: dict) -> object:
    value = body.get("tool_choice")
    if value is None:
        return "auto"
    if value in ("none", "auto", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        if isinstance(value.get("name"), str):
            return {"type": "function", "name": value["name"]}
    if isinstance(value, dict) and value.get("type") == "file_search":
        return {"type": "file_search"}
    raise invalid("tool_choice", "Invalid 'tool_choice'.")


def conversation_id(body: dict) -> str | None:
    """`conversation` as an id or as `{"id": ...}`."""
    value = body.get("conversation")
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise invalid("conversation", "Invalid 'conversation': expected an id or {'id': ...}.")
    return value


def max_output_tokens(body: dict) -> int | None:
    value = body.get("max_output_tokens")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_OUTPUT_TOKENS:
        raise invalid(
            "max_output_tokens",
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
            f"{MIN_OUTPUT_TOKENS}, but got {value!r} instead.",
        )
    return value


def item_text(body: dict) -> str:
    """The text an item carries, for the model and for counting tokens."""
    kind = body.get("type")
    if kind == "message":
        return "\n".join(part["text"] for part in body["content"] if "text" in part)
    if kind == "function_call":
        return body["arguments"]
    if kind == "function_call_output":
        output = body["output"]
        if isinstance(output, str):
            return output
        return "\n".join(part["text"] for part in output if "text" in part)
    return ""
