"""/v1/files: upload (multipart), list, retrieve, content, delete."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from localai.files_api import files
from localai.files_api.objects import file_deleted_object, file_object
from localai.http import params
from localai.http.pagination import paginate
from localai.models import File


async def file_create(request: HttpRequest) -> JsonResponse:
    upload = request.FILES.get("file")
    if upload is None:
        raise params.missing("file")
    purpose = request.POST.get("purpose")
    if not purpose:
        raise params.missing("purpose")
    if upload.size > settings.LOCAL_PROVIDER_MAX_FILE_BYTES:
        # Refused before reading it; file_create checks again for callers that are not views.
        files.check_size(upload.size)
    file = await files.file_create(
        filename=upload.name or "upload",
        purpose=purpose,
        content=upload.read(),
        content_type=upload.content_type,
    )
    return JsonResponse(file_object(file))


async def file_list(request: HttpRequest) -> JsonResponse:
    queryset = File.objects.defer("content")
    if request.GET.get("purpose"):
        queryset = queryset.filter(purpose=request.GET["purpose"])
    return JsonResponse(await paginate(queryset, request, file_object))


async def file_retrieve(request: HttpRequest, file_id: str) -> JsonResponse:
    return JsonResponse(file_object(await files.file_get(file_id)))


async def file_content(request: HttpRequest, file_id: str) -> HttpResponse:
    file = await files.file_get(file_id)
    response = HttpResponse(await files.file_content(file), content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{_header_safe(file.filename)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


async def file_delete(request: HttpRequest, file_id: str) -> JsonResponse:
    file = await files.file_get(file_id)
    await files.file_delete(file=file)
    return JsonResponse(file_deleted_object(file_id))


def _header_safe(filename: str) -> str:
    return "".join(ch if ch.isprintable() and ch not in '"\\' else "_" for ch in filename)
