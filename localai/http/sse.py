"""Server-sent events in the wire format of the real API's streamed runs."""

import json
from collections.abc import AsyncIterator

from django.http import StreamingHttpResponse

DONE = b"event: done\ndata: [DONE]\n\n"


def encode(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def event_stream_response(chunks: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    # Reverse proxies (nginx) would otherwise buffer the stream and defeat token streaming.
    response["X-Accel-Buffering"] = "no"
    return response


# The Chat Completions API's stream: `data:` lines only, ended by `data: [DONE]`.
DATA_DONE = b"data: [DONE]\n\n"


def encode_data(data: dict) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
