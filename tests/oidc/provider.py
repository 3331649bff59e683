"""A real OpenID provider (the npm package oidc-provider, tests/oidc/provider.mjs) in a Node
process of its own, on a loopback port; `make node-install` puts the package in node_modules.
"""

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.provider_server import ROOT, free_port

SCRIPT = Path(__file__).with_name("provider.mjs")
CLIENT_ID = "assistants-chat"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"


def node_missing() -> str | None:
    """Why the provider cannot start here, or None."""
    if not shutil.which("node"):
        return "no node on PATH (apt-get install nodejs)"
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        return "node_modules/oidc-provider is missing (make node-install)"
    return None


class OpenIDProvider:
    """Starts and stops the provider; `set_user` rewrites its users file, which it reads at
    every sign-in, so a test can change a user's claims (groups) between two sign-ins."""

    def __init__(self, folder: Path):
        # The port (so the issuer) is known before the start: the sites under test are
        # configured with it, and the client is registered with their URLs.
        self.folder = folder
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.users_file = folder / "users.json"
        self.config_file = folder / "provider.json"
        self.users: dict[str, dict] = {}
        self._write_users()
        self.process: subprocess.Popen | None = None

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def site_env(self, **overrides: str) -> dict[str, str]:
        """The environment of a site that signs in with this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_SCOPES": "openid email profile groups",
            "OIDC_PROVIDER_NAME": "Test ID",
            **overrides,
        }

    def set_user(self, login: str, *, password: str, **claims) -> None:
        self.users[login] = {"password": password, "claims": claims}
        self._write_users()

    def _write_users(self) -> None:
        # Written whole, then renamed: the provider never reads half a file.
        partial = self.users_file.with_suffix(".tmp")
        partial.write_text(json.dumps(self.users))
        partial.replace(self.users_file)

    def start(self, *, site_urls: list[str], timeout: float = 20.0) -> "OpenIDProvider":
        """Registers the client for the sites at `site_urls` (their callback and sign-out
        return URLs), starts the process and waits until its discovery document answers."""
        client = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{url}/accounts/oidc/callback/" for url in site_urls],
            "post_logout_redirect_uris": [f"{url}/accounts/login/" for url in site_urls],
        }
        self.config_file.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "users_file": str(self.users_file),
                    "client": client,
                }
            )
        )
        self.log = open(self.folder / "provider.log", "ab")
        self.process = subprocess.Popen(
            ["node", str(SCRIPT), str(self.config_file)],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the OpenID provider exited with {self.process.returncode}: "
                    + (self.folder / "provider.log").read_text()[-2000:]
                )
            try:
                with urllib.request.urlopen(self.discovery_url, timeout=1) as response:
                    if json.load(response)["issuer"] == self.issuer:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no discovery document at {self.discovery_url}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
