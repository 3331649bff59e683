"""A stand-in for azure-identity's `DefaultAzureCredential` that works offline.

It issues the local provider's bearer tokens (localai/tokens.py:
``localtoken.<expiry>.<hmac>``), which the Azure-style routes (/local/openai/...) accept
until they expire, and it counts what it issued. Use it wherever the app takes an async
azure-identity credential, typically through
``azure.identity.aio.get_bearer_token_provider(credential, scope)``:

    credential = LocalTokenCredential(lifetime=2)
    client = AsyncAzureOpenAI(
        azure_endpoint=f"{site}/local",
        api_version="2025-04-01-preview",
        azure_ad_token_provider=get_bearer_token_provider(credential, COGNITIVE_SCOPE),
    )
    ...  # requests succeed; once a token has expired, the next request gets a new one
    assert credential.issued_count >= 2

Each token carries `expires_on` (whole Unix seconds, `lifetime` from now rounded up) and
`refresh_on` (`refresh_after` seconds from now rounded up, by default half the lifetime), so
azure-core's token policy reuses a token until `refresh_on` and fetches a new one at the
latest when it expires. `expired_token()` gives a token the provider refuses.
"""

import math
import time

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

from localai.http.tokens import issue_token

# The scope an Azure OpenAI client asks for.
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"


def expired_token(*, key: str | None = None) -> str:
    """A well-signed token whose expiry has passed."""
    return issue_token(int(time.time()) - 60, key=key)


class LocalTokenCredential:
    """Implements `azure.core.credentials_async.AsyncTokenCredential` (and the newer
    `AsyncSupportsTokenInfo`, which azure-core's policies prefer)."""

    def __init__(
        self,
        *,
        lifetime: float = 3600.0,
        refresh_after: float | None = None,
        key: str | None = None,
    ):
        self.lifetime = lifetime
        self.refresh_after = lifetime / 2 if refresh_after is None else refresh_after
        # None: LOCAL_PROVIDER_API_KEY of the settings, which is also the test server's.
        self.key = key
        self.issued: list[AccessTokenInfo] = []
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    @property
    def issued_count(self) -> int:
        return len(self.issued)

    def _issue(self, scopes: tuple[str, ...]) -> AccessTokenInfo:
        now = time.time()
        expires_on = math.ceil(now + self.lifetime)
        info = AccessTokenInfo(
            issue_token(expires_on, key=self.key),
            expires_on,
            refresh_on=math.ceil(now + self.refresh_after),
        )
        self.issued.append(info)
        self.scopes.append(scopes)
        return info

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs,
    ) -> AccessToken:
        info = self._issue(scopes)
        return AccessToken(info.token, info.expires_on)

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        return self._issue(scopes)

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> "LocalTokenCredential":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()
