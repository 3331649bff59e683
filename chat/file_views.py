"""Files over HTTP: attaching (upload, remove) and downloading, always authorised.

Nothing under MEDIA_ROOT is served directly: each download checks who asks. Another user's
file answers 404, exactly like a file that does not exist.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import FileResponse, Http404, HttpRequest, JsonResponse, QueryDict
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .models import KnowledgeFile, OutputFile, StoredFile, Upload
from .presenters import upload_payload
from .services.uploads import (
    UploadRefused,
    upload_create,
    upload_delete,
    upload_too_large_message,
)
from .views import api_login_required, json_error, json_refused

# Room for the multipart framing around the file: boundaries, headers, the CSRF field.
MULTIPART_OVERHEAD = 64 * 1024

# Downloads of user-supplied bytes: never a document that runs script or loads anything.
DOWNLOAD_CSP = "sandbox; default-src 'none'"


class SizeLimitHandler(FileUploadHandler):
    """Stops reading a request body once it is past the upload limit, instead of storing the
    whole of it first (a client may send no Content-Length, or a false one)."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.too_large = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > settings.CHAT_UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD:
            # Refused by its Content-Length, before a byte of the body is parsed.
            self.too_large = True
            return QueryDict(), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.CHAT_UPLOAD_MAX_BYTES:
            self.too_large = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


@csrf_protect
def _create_upload(request: HttpRequest, limit: SizeLimitHandler) -> JsonResponse:
    file = request.FILES.get("file")  # parses the body, through the size limit
    if limit.too_large:
        return json_refused(UploadRefused("file_too_large", upload_too_large_message(), status=413))
    try:
        upload = upload_create(user=request.user, file=file)
    except UploadRefused as refusal:
        return json_refused(refusal)
    return JsonResponse({"upload": upload_payload(upload)}, status=201)


@api_login_required
@require_POST
@csrf_exempt  # checked by _create_upload, after the size limit is in place (see below)
def api_upload_create(request: HttpRequest) -> JsonResponse:
    """POST /api/uploads/ (multipart, field `file`): an attachment for a later message."""
    # Upload handlers can only change before the body is read, and the CSRF check reads it:
    # Django's documented order is csrf_exempt, change handlers, then csrf_protect.
    limit = SizeLimitHandler(request)
    request.upload_handlers.insert(0, limit)
    return _create_upload(request, limit)


@api_login_required
@require_http_methods(["DELETE"])
def api_upload_delete(request: HttpRequest, pk: int) -> JsonResponse:
    """DELETE /api/uploads/<id>/: removes an attachment that was not sent yet."""
    try:
        upload_delete(user=request.user, upload_id=pk)
    except Upload.DoesNotExist:
        return json_error("No such file waiting to be sent.", status=404)
    return JsonResponse({"deleted": pk})


def stored_file_response(stored: StoredFile) -> FileResponse:
    """A stored file as a download (images inline), under the sandbox policy. The caller
    has authorised the request (here, or sharing.views for a share link's files)."""
    try:
        handle = stored.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("This file is no longer stored.") from None
    inline = stored.is_image  # png, jpeg, gif, webp only: SVG can carry script
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=stored.name,
        content_type=stored.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def upload_file(request: HttpRequest, pk: int) -> FileResponse:
    """GET /files/<id>/: a file the user attached (theirs only)."""
    try:
        # Not one of a deleted conversation (waiting for its purge): gone as it is.
        upload = Upload.objects.exclude(conversation__deleted_at__isnull=False)
        return stored_file_response(upload.get(pk=pk, owner=request.user))
    except Upload.DoesNotExist:
        raise Http404("No such file.") from None


@require_GET
def knowledge_file(request: HttpRequest, pk: int) -> FileResponse:
    """GET /files/knowledge/<id>/: an assistant's knowledge file (staff only)."""
    if not request.user.is_staff:
        raise Http404("No such file.")
    try:
        return stored_file_response(KnowledgeFile.objects.get(pk=pk))
    except KnowledgeFile.DoesNotExist:
        raise Http404("No such file.") from None


@require_GET
def output_file(request: HttpRequest, pk: int) -> FileResponse:
    """GET /outputs/<id>/: a file the code interpreter produced (the conversation's owner
    only)."""
    try:
        return stored_file_response(
            OutputFile.objects.get(
                pk=pk, conversation__owner=request.user, conversation__deleted_at__isnull=True
            )
        )
    except OutputFile.DoesNotExist:
        raise Http404("No such file.") from None
