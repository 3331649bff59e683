"""The faults a message's directives ask for, shared by both protocols.

Request faults (`[[fail:N]]`, `[[hang]]`) hit the HTTP request that would start a run or a
response, before anything exists. Stream faults (`[[cut:N]]`, `[[run_fail]]`, `[[expire]]`)
end a stream part-way; each protocol shows them with its own events (see
assistants_api/runner.py and responses_api/runner.py).
"""

import asyncio
from dataclasses import dataclass

from localai.engine.model import FAULT_AFTER_TOKENS, Directives
from localai.http.errors import APIError

# How long `[[hang]]` holds a request that the client does not give up on.
HANG_SECONDS = 300.0


async def answer_request_faults(directives: Directives) -> None:
    """Raises the error the directives ask for, or holds the request (`[[hang]]`)."""
    if directives.hang:
        # Sends nothing; when the client gives up, Django cancels this view.
        await asyncio.sleep(HANG_SECONDS)
        raise APIError(500, "The request was held by the [[hang]] directive.", type="server_error")
    status = directives.fail
    if status == 429:
        raise APIError(
            429,
            "Rate limit reached for requests ([[fail:429]] directive). Please try again in 1s.",
            type="requests",
            code="rate_limit_exceeded",
            headers={"retry-after": "1"},
        )
    if status is not None:
        raise APIError(
            status,
            f"The server had an error while processing your request ([[fail:{status}]] "
            "directive). Sorry about that!",
            type="server_error" if status >= 500 else "invalid_request_error",
        )


@dataclass(frozen=True)
class StreamFault:
    # "cut" (the body ends without a terminal event), "failed" or "expired".
    outcome: str
    # How many tokens stream before it strikes.
    after_tokens: int
    # The error recorded on the run or response, if any.
    error: str


def stream_fault(directives: Directives, token_count: int) -> StreamFault | None:
    if directives.cut is not None:
        return StreamFault(
            "cut",
            directives.cut,
            f"The stream was cut after {directives.cut} deltas ([[cut]] directive).",
        )
    if directives.run_fail:
        return StreamFault(
            "failed",
            min(FAULT_AFTER_TOKENS, token_count),
            "The local model failed ([[run_fail]] directive).",
        )
    if directives.expire:
        return StreamFault("expired", min(FAULT_AFTER_TOKENS, token_count), "")
    return None
