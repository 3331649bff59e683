"""Request bodies and the parameters every API shares, refused with the real API's 400s."""

import json

from django.http import HttpRequest

from localai.http.errors import APIError

MAX_METADATA_KEYS = 16


def invalid(param: str, message: str) -> APIError:
    return APIError(400, message, param=param, code="invalid_value")


def missing(param: str) -> APIError:
    return APIError(
        400,
        f"Missing required parameter: '{param}'.",
        param=param,
        code="missing_required_parameter",
    )


def optional_string(body: dict, param: str, *, max_length: int | None = None) -> str | None:
    value = body.get(param)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(param, f"Invalid type for '{param}': expected a string.")
    if max_length is not None and len(value) > max_length:
        raise invalid(param, f"'{param}' is too long: at most {max_length} characters.")
    return value


def required_string(body: dict, param: str) -> str:
    value = optional_string(body, param)
    if not value:
        raise missing(param)
    return value


def optional_number(body: dict, param: str, *, low: float, high: float) -> float | None:
    value = body.get(param)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise invalid(param, f"Invalid '{param}': expected a number from {low} to {high}.")
    return float(value)


def metadata(body: dict, param: str = "metadata") -> dict | None:
    value = body.get(param)
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_METADATA_KEYS:
        raise invalid(param, f"Invalid '{param}': expected an object of at most 16 pairs.")
    for key, item in value.items():
        if len(key) > 64 or not isinstance(item, str) or len(item) > 512:
            raise invalid(
                param,
                f"Invalid '{param}': keys have at most 64 characters, values are "
                "strings of at most 512 characters.",
            )
    return value


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
