"""A tiny HTTP server that answers every request with a chosen failure, in the real API's
error shape: for the failures the local provider cannot be asked for (it takes its fault
directives from a user message), e.g. a 500 while the admin saves a definition."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fault:
    status: int = 500
    message: str = "The server had an error while processing your request."
    headers: dict = field(default_factory=dict)
    hang: float = 0.0  # seconds to stay silent before answering


class FaultServer:
    def __init__(self):
        self.fault = Fault()
        self.requests: list[tuple[str, str]] = []
        self.request_times: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                server.requests.append((self.command, self.path))
                server.request_times.append(time.monotonic())
                fault = server.fault
                if fault.hang:
                    time.sleep(fault.hang)
                body = json.dumps(
                    {
                        "error": {
                            "message": fault.message,
                            "type": "error",
                            "param": None,
                            "code": None,
                        }
                    }
                ).encode()
                try:
                    self.send_response(fault.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for name, value in fault.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FaultServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
