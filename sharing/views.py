"""HTTP views of sharing and export: the owner's share link API, the share page any
signed-in user can open, the files a link may serve, and the two export downloads.

Thin, as chat's views: reads through sharing.selectors, writes through sharing.services.
Someone else's conversation answers 404, exactly like one that does not exist.
"""

import json

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat import selectors as chat_selectors
from chat.file_views import stored_file_response
from chat.models import Conversation, OutputFile, Upload
from chat.services.refusals import Refused
from chat.views import api_login_required, json_error, json_refused

from . import selectors, services
from .export import ExportFile, conversation_json, conversation_markdown
from .models import ShareLink
from .snapshot import file_ids, with_share_urls

NO_SUCH_CONVERSATION = "No such conversation."


def _allow_downloads(request: HttpRequest) -> bool | None:
    """`allow_downloads` of a JSON body (a boolean) or a form ("true"/"false"); None if
    missing or anything else."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        value = body.get("allow_downloads") if isinstance(body, dict) else None
        return value if isinstance(value, bool) else None
    return {"true": True, "false": False}.get(request.POST.get("allow_downloads", "").lower())


def share_payload(request: HttpRequest, share: ShareLink | None) -> dict | None:
    if share is None:
        return None
    path = share_path(share)
    return {
        "url": request.build_absolute_uri(path),
        "path": path,
        "created_at": share.created_at.isoformat(),
        "allow_downloads": share.allow_downloads,
        "messages": len(share.messages),
    }


def share_path(share: ShareLink) -> str:
    return reverse("sharing:shared_page", kwargs={"token": share.token})


# --- The owner's API -----------------------------------------------------------------------


@api_login_required
@require_http_methods(["GET", "POST"])
def api_share(request: HttpRequest, pk: int) -> JsonResponse:
    """GET: the conversation's live link (`share`: null when none). POST (`allow_downloads`,
    true or false): a new link with the conversation as it is now, replacing the live one."""
    try:
        if request.method == "GET":
            share = selectors.share_live(user=request.user, conversation_id=pk)
            return JsonResponse({"share": share_payload(request, share)})
        allow_downloads = _allow_downloads(request)
        if allow_downloads is None:
            return json_error("`allow_downloads` must be true or false.", status=400)
        share = services.share_create(
            user=request.user, conversation_id=pk, allow_downloads=allow_downloads
        )
    except Conversation.DoesNotExist:
        return json_error(NO_SUCH_CONVERSATION, status=404)
    except Refused as refusal:
        return json_refused(refusal)
    return JsonResponse({"share": share_payload(request, share)}, status=201)


@api_login_required
@require_POST
def api_share_revoke(request: HttpRequest, pk: int) -> JsonResponse:
    """Revokes the conversation's live link: its URL answers 410 from now on."""
    try:
        revoked = services.share_revoke(user=request.user, conversation_id=pk)
    except Conversation.DoesNotExist:
        return json_error(NO_SUCH_CONVERSATION, status=404)
    return JsonResponse({"share": None, "revoked": revoked})


# --- What a link shows ---------------------------------------------------------------------


def _gone(request: HttpRequest, *, revoked: bool) -> HttpResponse:
    return render(
        request,
        "sharing/share_gone.html",
        {"revoked": revoked},
        status=410 if revoked else 404,
    )


@require_GET
def shared_page(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only snapshot, for any signed-in user (the login middleware asks the rest
    to sign in). Unknown: 404; revoked: 410, each with a page that says so."""
    try:
        share = selectors.share_by_token(token=token)
    except ShareLink.DoesNotExist:
        return _gone(request, revoked=False)
    if share.is_revoked:
        return _gone(request, revoked=True)
    data = {
        "title": share.title,
        "assistant_name": share.assistant_name,
        "messages": with_share_urls(
            share.messages, token=share.token, allow_downloads=share.allow_downloads
        ),
    }
    has_files = any(file_ids(share.messages).values())
    return render(
        request,
        "sharing/shared.html",
        {"share": share, "share_data": data, "has_files": has_files},
    )


@require_GET
def shared_file(request: HttpRequest, token: str, kind: str, pk: int) -> FileResponse:
    """A file the snapshot names, only while the link is live and allows downloads."""
    try:
        share = selectors.share_by_token(token=token)
    except ShareLink.DoesNotExist:
        raise Http404("No such file.") from None
    allowed = file_ids(share.messages).get(kind, set())
    if share.is_revoked or not share.allow_downloads or pk not in allowed:
        raise Http404("No such file.")
    model = {"upload": Upload, "output": OutputFile}[kind]
    try:
        stored = model.objects.get(pk=pk, conversation_id=share.conversation_id)
    except model.DoesNotExist:
        raise Http404("No such file.") from None
    return stored_file_response(stored)


# --- Export --------------------------------------------------------------------------------


def _export(request: HttpRequest, pk: int, build) -> HttpResponse:
    try:
        conversation = chat_selectors.conversation_get(user=request.user, conversation_id=pk)
    except Conversation.DoesNotExist:
        raise Http404(NO_SUCH_CONVERSATION) from None
    document: ExportFile = build(conversation)
    response = HttpResponse(document.body, content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=document.filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def export_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    """GET /c/<id>/export.md: the conversation as Markdown (the owner's only)."""
    return _export(request, pk, conversation_markdown)


@require_GET
def export_json(request: HttpRequest, pk: int) -> HttpResponse:
    """GET /c/<id>/export.json: the conversation as JSON (the owner's only)."""
    return _export(request, pk, conversation_json)
