"""One URL's view: the switch, the surface's checks (credentials, `api-version`, the
Assistants API's beta header and retirement) and dispatch on the HTTP method."""

import logging
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from localai.http.auth import api_key_header, bearer_token, is_authorised, masked
from localai.http.errors import APIError
from localai.http.surfaces import OPENAI, Surface
from localai.http.tokens import is_local_token, token_status

Handler = Callable[..., Awaitable[HttpResponse]]

logger = logging.getLogger(__name__)


def _authentication_error(request: HttpRequest) -> APIError | None:
    token = bearer_token(request)
    if token is None:
        return APIError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if not is_authorised(token):
        return APIError(
            401, f"Incorrect API key provided: {masked(token)}.", code="invalid_api_key"
        )
    return None


# What Azure's gateway answers; the SDK reads `message` and `code` from any error body.
_AZURE_BAD_KEY = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API endpoint "
    "for your resource."
)
_AZURE_NO_KEY = (
    "Access denied due to missing subscription key. Make sure to include subscription key "
    "when making requests to an API."
)
_AZURE_BAD_TOKEN = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
_AZURE_EXPIRED_TOKEN = "Unauthorized. Access token has expired."
_ASSISTANTS_RETIRED_ON = "2026-08-26"


def _azure_error(status: int, message: str, code: str | None = None) -> APIError:
    return APIError(status, message, code=code or str(status))


def _azure_authentication_error(request: HttpRequest, surface: Surface) -> APIError | None:
    """The `api-key` header, or a bearer token; on Azure's v1 API the bearer may be the key."""
    key = api_key_header(request)
    if key is not None:
        return None if is_authorised(key) else _azure_error(401, _AZURE_BAD_KEY)
    token = bearer_token(request)
    if token is None:
        return _azure_error(401, _AZURE_NO_KEY)
    if is_local_token(token):
        status = token_status(token)
        if status == "valid":
            return None
        return _azure_error(401, _AZURE_EXPIRED_TOKEN if status == "expired" else _AZURE_BAD_TOKEN)
    if not surface.requires_api_version and is_authorised(token):
        return None
    return _azure_error(401, _AZURE_BAD_TOKEN)


def _api_version_error(request: HttpRequest, surface: Surface) -> APIError | None:
    if not surface.requires_api_version or request.GET.get("api-version"):
        return None
    return _azure_error(
        400,
        "The api-version query parameter (?api-version=) is required for all requests.",
        code="MissingApiVersionParameter",
    )


def _assistants_error(request: HttpRequest, surface: Surface) -> APIError | None:
    if surface.assistants_retired():
        message = (
            f"The Assistants API was retired on {_ASSISTANTS_RETIRED_ON} and is no longer "
            "available. Use the Responses API with the Conversations API instead."
        )
        if surface.azure:
            return _azure_error(410, message, code="Gone")
        return APIError(410, message, code="api_retired")
    # The real service refuses Assistants requests without it; the SDK always sends it.
    if "assistants=v2" in request.headers.get("OpenAI-Beta", ""):
        return None
    return APIError(
        400,
        "You must provide the 'OpenAI-Beta' header to access the Assistants API. "
        "Please try again by setting the header 'OpenAI-Beta: assistants=v2'.",
        code="invalid_beta",
    )


def _gate_error(request: HttpRequest, surface: Surface, protocol: str) -> APIError | None:
    if surface.azure:
        error = _azure_authentication_error(request, surface) or _api_version_error(
            request, surface
        )
    else:
        error = _authentication_error(request)
    if error is None and protocol == "assistants":
        error = _assistants_error(request, surface)
    return error


def endpoint(
    *, surface: Surface = OPENAI, protocol: str = "assistants", **handlers: Handler
) -> Callable[..., Awaitable[HttpResponse]]:
    """One URL's view: checks the switch, the credentials and the protocol's requirements
    on this surface, then dispatches on the HTTP method. `protocol` is "assistants" (the
    Assistants API: the beta header, and a 410 where it is retired), or the API surface
    that has no such requirement ("responses", "chat_completions", "models").

    The API authenticates with its own key, not the site's session, hence the exemptions
    from CSRF and from the login requirement.
    """

    @csrf_exempt
    @login_not_required
    async def view(request: HttpRequest, **kwargs) -> HttpResponse:
        if not settings.LOCAL_PROVIDER_ENABLED:
            return APIError(404, "The local provider is switched off.").response()
        error = _gate_error(request, surface, protocol)
        if error:
            return error.response()
        handler = handlers.get(request.method or "")
        if handler is None:
            return APIError(
                405, f"Invalid method for URL ({request.method} {request.path})."
            ).response()
        try:
            return await handler(request, **kwargs)
        except APIError as exc:
            return exc.response()
        except Exception:
            # Clients expect the API's error shape even from a bug, not the site's error page.
            logger.exception("local provider: %s %s failed", request.method, request.path)
            return APIError(
                500,
                "The server had an error while processing your request. Sorry about that!",
                type="server_error",
            ).response()

    return view


@csrf_exempt
@login_not_required
async def unknown_url(request: HttpRequest, path: str = "") -> HttpResponse:
    if not settings.LOCAL_PROVIDER_ENABLED:
        return APIError(404, "The local provider is switched off.").response()
    return APIError(404, f"Invalid URL ({request.method} {request.path})").response()
