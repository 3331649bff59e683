"""/v1/containers: create, list, retrieve, delete; a container's files (upload or copy a
File, list, retrieve, content, delete). The code interpreter of the Responses API runs in a
container and leaves its files there."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from localai.files_api import containers
from localai.files_api.containers import container_get
from localai.files_api.files import check_size, file_contents_of
from localai.files_api.objects import container_file_object, container_object
from localai.http import params
from localai.http.errors import APIError, not_found
from localai.http.objects import deleted_object
from localai.http.pagination import paginate
from localai.http.params import read_json
from localai.models import Container, ContainerFile

MEMORY_LIMITS = ("1g", "4g", "16g", "64g")


async def _container_file_get(container: Container, public_id: str) -> ContainerFile:
    try:
        return await ContainerFile.objects.defer("content").aget(
            container=container, public_id=public_id
        )
    except ContainerFile.DoesNotExist:
        raise APIError(404, f"File with id '{public_id}' not found.") from None


def _file_ids(body: dict) -> list[str]:
    value = body.get("file_ids") or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise params.invalid("file_ids", "Invalid 'file_ids': expected an array of file ids.")
    return value


async def container_create(request: HttpRequest) -> JsonResponse:
    body = read_json(request)
    name = params.required_string(body, "name")
    memory_limit = body.get("memory_limit") or "1g"
    if memory_limit not in MEMORY_LIMITS:
        raise params.invalid(
            "memory_limit", f"Invalid 'memory_limit': expected one of {', '.join(MEMORY_LIMITS)}."
        )
    container = await containers.container_create(
        name=name, file_ids=_file_ids(body), memory_limit=memory_limit
    )
    return JsonResponse(container_object(container))


async def container_list(request: HttpRequest) -> JsonResponse:
    queryset = Container.objects.all()
    if request.GET.get("name"):
        queryset = queryset.filter(name=request.GET["name"])
    return JsonResponse(await paginate(queryset, request, container_object))


async def container_retrieve(request: HttpRequest, container_id: str) -> JsonResponse:
    return JsonResponse(container_object(await container_get(container_id)))


async def container_delete(request: HttpRequest, container_id: str) -> JsonResponse:
    await containers.container_delete(container=await container_get(container_id))
    return JsonResponse(deleted_object(container_id, "container"))


async def container_file_create(request: HttpRequest, container_id: str) -> JsonResponse:
    """A multipart upload (`file`), or a JSON body copying a File (`file_id`)."""
    container = await container_get(container_id)
    upload = request.FILES.get("file") if request.content_type == "multipart/form-data" else None
    if upload is not None:
        check_size(upload.size)
        name, content = upload.name or "upload", upload.read()
    else:
        body = read_json(request) if request.content_type != "multipart/form-data" else {}
        file_id = body.get("file_id") or request.POST.get("file_id")
        if not isinstance(file_id, str) or not file_id:
            raise APIError(
                400,
                "Provide either 'file' (an upload) or 'file_id'.",
                param="file",
                code="missing_required_parameter",
            )
        found = await file_contents_of([file_id])
        if not found:
            raise not_found("file", file_id, param="file_id")
        name, content = found[0]
    file = await containers.container_file_put(
        container=container, name=name, content=content, source="user", mime=None
    )
    return JsonResponse(container_file_object(file, container))


async def container_file_list(request: HttpRequest, container_id: str) -> JsonResponse:
    container = await container_get(container_id)
    queryset = ContainerFile.objects.defer("content").filter(container=container)
    return JsonResponse(
        await paginate(queryset, request, lambda file: container_file_object(file, container))
    )


async def container_file_retrieve(
    request: HttpRequest, container_id: str, file_id: str
) -> JsonResponse:
    container = await container_get(container_id)
    file = await _container_file_get(container, file_id)
    return JsonResponse(container_file_object(file, container))


async def container_file_content(
    request: HttpRequest, container_id: str, file_id: str
) -> HttpResponse:
    container = await container_get(container_id)
    file = await _container_file_get(container, file_id)
    rows = ContainerFile.objects.filter(pk=file.pk).values_list("content", flat=True)
    response = HttpResponse(bytes(await rows.aget()), content_type=file.content_type)
    safe = "".join(ch if ch.isprintable() and ch not in '"\\' else "_" for ch in file.filename)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


async def container_file_delete(
    request: HttpRequest, container_id: str, file_id: str
) -> JsonResponse:
    container = await container_get(container_id)
    await containers.container_file_delete(file=await _container_file_get(container, file_id))
    return JsonResponse(deleted_object(file_id, "container.file"))
