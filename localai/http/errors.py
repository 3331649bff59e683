"""Errors in the real API's shape, `{"error": {...}}`, which the SDK turns into its
exceptions."""

from django.http import JsonResponse


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
