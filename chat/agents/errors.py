"""Provider failures as readable errors, for the chat user and for staff in the admin."""

import json
import re
from contextlib import asynccontextmanager

import httpx2
import openai


class ProviderError(Exception):
    """A provider call failed; `str()` is a sentence a user can act on."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "provider_error",
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retry_after = retry_after


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    message = error.get("message") if isinstance(error, dict) else None
    return message or exc.message


def _is_assistants_api(exc: openai.APIStatusError) -> bool:
    try:
        path = exc.response.request.url.path
    except (AttributeError, RuntimeError):
        return True  # no request to look at: the Assistants API is what providers retire
    return any(part in path for part in ("/assistants", "/threads"))


# The provider tools, and the endpoints they need: a 404 on one of these collections means
# the provider lacks the API (a 404 on one object of them is just a missing object).
PROVIDER_TOOL_NAMES = ("file_search", "code_interpreter")
TOOL_APIS = {
    "files": "file uploads (the Files API), which file search and the code interpreter need",
    "vector_stores": "vector stores, which the file_search tool needs",
    "containers": "containers, which the code_interpreter tool needs",
}


def _error_field(exc: openai.APIStatusError, name: str) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    value = error.get(name) if isinstance(error, dict) else None
    return value if isinstance(value, str) else ""


# A 404 on one of these collections means the server lacks the API the protocol needs.
PROTOCOL_APIS = {
    ("responses",): (
        "This server does not implement the Responses API (404): choose the "
        "chat_completions protocol."
    ),
    ("conversations",): (
        "This server does not implement the Conversations API (404): choose the stored or "
        "stateless thread for the responses protocol, or chat_completions."
    ),
    ("chat", "completions"): (
        "This server does not implement the Chat Completions API (404): check the base URL, "
        "or choose another protocol."
    ),
}


def _no_such_route(exc: openai.APIStatusError) -> bool:
    """A 404 from the server's router rather than about an object or a model: no
    OpenAI-shaped error (vLLM and llama.cpp answer {"detail": "Not Found"}, Ollama plain
    text, LM Studio a string error), or OpenAI's own "Invalid URL (...)"."""
    # The SDK keeps the `error` object of an OpenAI-shaped body as `exc.body`.
    error = exc.body.get("error", exc.body) if isinstance(exc.body, dict) else None
    if not isinstance(error, dict) or not error.get("message"):
        return True
    return str(error["message"]).startswith("Invalid URL")


def _missing_protocol_api(exc: openai.APIStatusError) -> str | None:
    if not _no_such_route(exc):
        return None  # e.g. an unknown model or Azure deployment: the API itself is there
    try:
        segments = tuple(exc.response.request.url.path.strip("/").split("/"))
    except (AttributeError, RuntimeError):
        return None
    return next((m for tail, m in PROTOCOL_APIS.items() if segments[-len(tail) :] == tail), None)


def _missing_tool_api(exc: openai.APIStatusError) -> str | None:
    try:
        path = exc.response.request.url.path
    except (AttributeError, RuntimeError):
        return None
    # Only a top-level collection (`/v1/files`, `/v1/vector_stores`): below one, as in
    # `vector_stores/<id>/files`, a 404 says the object above is gone, not the API.
    segments = path.strip("/").split("/")
    first = next((i for i, segment in enumerate(segments) if segment in TOOL_APIS), None)
    return TOOL_APIS[segments[first]] if first == len(segments) - 1 else None


def _tool_at(exc: openai.APIStatusError, param: str) -> str | None:
    """The type of the tool a `tools[i]...` param points at, read from the request sent."""
    match = re.match(r"tools\[(\d+)\]", param)
    try:
        tools = json.loads(exc.response.request.content)["tools"]
        kind = tools[int(match[1])]["type"] if match else None
    except (AttributeError, RuntimeError, ValueError, KeyError, IndexError, TypeError):
        return None
    return kind if kind in PROVIDER_TOOL_NAMES else None


def _refused_tool(exc: openai.APIStatusError, detail: str) -> str | None:
    """The provider tool a 400 refuses: said by its code, or a `tools` param that names or
    points at a provider tool (a bad function tool is a different mistake)."""
    param = exc.param or _error_field(exc, "param")
    named = [name for name in PROVIDER_TOOL_NAMES if name in detail]
    if (exc.code or _error_field(exc, "code")) == "unsupported_tool":
        return (named or [_tool_at(exc, param) or "requested"])[0]
    if param.startswith("tools"):
        return (named or [_tool_at(exc, param)])[0]
    return None


def provider_error_from(exc: Exception) -> ProviderError:
    """Translates an `openai` SDK exception into a ProviderError with a readable message."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return ProviderError(
            "The assistant's provider did not answer in time. Try again in a moment.",
            code="timeout",
        )
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return ProviderError(
            "The connection to the assistant's provider failed or was cut. Try again.",
            code="unreachable",
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _detail(exc)
        if status in (401, 403):
            return ProviderError(
                f"The provider refused the credentials ({status}): {detail}",
                code="auth",
                status=status,
            )
        if status == 404 and (missing := _missing_protocol_api(exc)):
            return ProviderError(missing, code="unsupported_api", status=status)
        if status == 404 and (api := _missing_tool_api(exc)):
            return ProviderError(
                f"This provider does not support {api} (404): {detail}",
                code="unsupported_tool",
                status=status,
            )
        if status == 400 and (tool := _refused_tool(exc, detail)):
            return ProviderError(
                f"This provider does not support the {tool} tool: {detail}",
                code="unsupported_tool",
                status=status,
            )
        if status == 404:
            return ProviderError(
                f"The provider does not know this object (404): {detail}",
                code="not_found",
                status=status,
            )
        if status == 410:
            if _is_assistants_api(exc):
                return ProviderError(
                    "This provider has retired the Assistants API (410). Switch the "
                    "assistant's protocol to 'responses' in the admin.",
                    code="retired",
                    status=status,
                )
            return ProviderError(
                f"The provider no longer offers this API (410): {detail}",
                code="retired",
                status=status,
            )
        if status == 429:
            retry_after = exc.response.headers.get("retry-after")
            return ProviderError(
                "The provider is rate limiting requests (429). Try again shortly.",
                code="rate_limited",
                status=status,
                retry_after=float(retry_after) if retry_after else None,
            )
        if status >= 500:
            return ProviderError(
                f"The provider had an internal error ({status}). Try again.",
                code="server_error",
                status=status,
            )
        return ProviderError(
            f"The provider rejected the request ({status}): {detail}",
            code="bad_request",
            status=status,
        )
    if isinstance(exc, openai.OpenAIError):
        return ProviderError(f"The provider call failed: {exc}")
    raise exc


@asynccontextmanager
async def provider_errors(*, ignore: tuple[type[openai.OpenAIError], ...] = ()):
    """Turns the SDK errors raised in the block into ProviderErrors (provider_error_from).

    `ignore` lists the errors that mean the call's goal is reached already (deleting what
    is gone, cancelling what has ended): the block ends quietly.
    """
    try:
        yield
    except ignore:
        pass
    except openai.OpenAIError as exc:
        raise provider_error_from(exc) from exc
