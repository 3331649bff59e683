"""HTTP plumbing shared by the endpoints: errors in the real shape, JSON bodies, dispatch."""

import json
import logging
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from localai.auth import bearer_token, is_authorised, masked

Handler = Callable[..., Awaitable[HttpResponse]]

logger = logging.getLogger(__name__)


class APIError(Exception):
    """An error answered as `{"error": {...}}`, which the SDK turns into its exceptions."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # the field's name in the API
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        body = {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }
        return JsonResponse(body, status=self.status, headers=self.headers)


def not_found(kind: str, object_id: str, param: str | None = None) -> APIError:
    return APIError(404, f"No {kind} found with id '{object_id}'.", param=param)


def read_json(request: HttpRequest) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise APIError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
        ) from None
    if not isinstance(body, dict):
        raise APIError(400, "The request body must be a JSON object.")
    return body


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


def _beta_header_error(request: HttpRequest) -> APIError | None:
    # The real service refuses Assistants requests without it; the SDK always sends it.
    if "assistants=v2" in request.headers.get("OpenAI-Beta", ""):
        return None
    return APIError(
        400,
        "You must provide the 'OpenAI-Beta' header to access the Assistants API. "
        "Please try again by setting the header 'OpenAI-Beta: assistants=v2'.",
        code="invalid_beta",
    )


def endpoint(**handlers: Handler) -> Callable[..., Awaitable[HttpResponse]]:
    """One URL's view: checks the switch and the key, then dispatches on the HTTP method.

    The API authenticates with its own key, not the site's session, hence the exemptions
    from CSRF and from the login requirement.
    """

    @csrf_exempt
    @login_not_required
    async def view(request: HttpRequest, **kwargs) -> HttpResponse:
        if not settings.LOCAL_PROVIDER_ENABLED:
            return APIError(404, "The local provider is switched off.").response()
        error = _authentication_error(request) or _beta_header_error(request)
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
