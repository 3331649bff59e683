"""/v1/models: the one model the local provider serves (`LOCAL_PROVIDER_MODEL`).

The other endpoints echo whatever `model` a request names, as the model is never
interpreted; this list is what a client that asks which models exist finds.
"""

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from localai.http.errors import APIError

# The model's `created`: a fixed time (2025-01-01), so the object never changes.
MODEL_CREATED = 1735689600
OWNER = "localai"


def model_object(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": OWNER}


async def model_list(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"object": "list", "data": [model_object(settings.LOCAL_PROVIDER_MODEL)]})


async def model_retrieve(request: HttpRequest, model_id: str) -> JsonResponse:
    if model_id != settings.LOCAL_PROVIDER_MODEL:
        raise APIError(
            404,
            f"The model '{model_id}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    return JsonResponse(model_object(model_id))
