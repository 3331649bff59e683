"""HTTP views: the chat page and the small JSON API of its sidebar.

Thin on purpose: they read through chat.selectors, write through chat.services and shape
JSON with chat.presenters, the same shapes the WebSocket sends.
"""

import base64
import binascii
import json
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from organisation.page_state import composer_refusal

from . import selectors
from .ids import id_in_range
from .models import Conversation
from .presenters import conversation_payload, message_payloads
from .services import conversations as conversation_services
from .services.refusals import Refused

# Longer search terms only make the query slower; nobody types a paragraph into the box.
MAX_QUERY_CHARS = 200


# --- Helpers -------------------------------------------------------------------------------


def encode_cursor(before: selectors.Cursor | None) -> str | None:
    """An opaque, URL-safe form of a keyset cursor."""
    if before is None:
        return None
    updated_at, pk = before
    raw = f"{updated_at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> selectors.Cursor:
    """The inverse of encode_cursor; ValueError for anything it did not produce."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        timestamp, pk = raw.rsplit("|", 1)
        updated_at = datetime.fromisoformat(timestamp)
        if updated_at.tzinfo is None:
            raise ValueError("naive timestamp")
        if not id_in_range(int(pk)):
            raise ValueError("no such id")
        return updated_at, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"invalid cursor: {value!r}") from exc


def json_error(message: str, *, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def json_refused(refusal: Refused) -> JsonResponse:
    # json_error's shape plus a code the page can act on.
    return JsonResponse({"error": str(refusal), "code": refusal.code}, status=refusal.status)


def api_login_required(view):
    """Like the login middleware, but answers 401 JSON instead of redirecting to a page a
    fetch() cannot show; the page's script sends the user to the login page on 401."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            response = json_error("Sign in to continue.", status=401)
            response["WWW-Authenticate"] = 'Session realm="chat"'
            return response
        return view(request, *args, **kwargs)

    wrapper.login_required = False  # opts out of LoginRequiredMiddleware's redirect
    return wrapper


def _request_field(request: HttpRequest, name: str) -> str | None:
    """A field of a form-encoded or JSON POST body."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        value = body.get(name) if isinstance(body, dict) else None
        return value if isinstance(value, str) else None
    return request.POST.get(name)


def _url_template(name: str) -> str:
    """A URL with `{id}` where the conversation id goes, for the page's script."""
    return reverse(name, kwargs={"pk": 0}).replace("/0/", "/{id}/")


def _request_flag(request: HttpRequest, name: str) -> bool | None:
    """A true/false field of a JSON (a boolean) or form-encoded ("true"/"false") POST body."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return None
        value = body.get(name) if isinstance(body, dict) else None
        return value if isinstance(value, bool) else None
    return {"true": True, "false": False}.get(request.POST.get(name, "").lower())


def _sidebar_page_payload(
    page: selectors.ConversationPage, pinned: list[Conversation] | None = None
) -> dict:
    payload = {
        "conversations": [conversation_payload(c) for c in page.conversations],
        "next_cursor": encode_cursor(page.next_before),
    }
    if pinned is not None:
        # First pages only: the pinned conversations, wherever their activity puts them.
        payload["pinned"] = [conversation_payload(c) for c in pinned]
    return payload


# --- Pages ---------------------------------------------------------------------------------


def _chat_page(request: HttpRequest, conversation: Conversation | None) -> HttpResponse:
    page = selectors.conversation_page(user=request.user, limit=settings.CHAT_SIDEBAR_PAGE_SIZE)
    pinned = selectors.conversation_list_pinned(user=request.user)
    window = (
        selectors.message_window(
            conversation=conversation, limit=settings.CHAT_TRANSCRIPT_PAGE_SIZE
        )
        if conversation
        else selectors.MessageWindow(messages=[], has_older=False)
    )
    assistants = [
        {
            "id": a.pk,
            "name": a.name,
            "description": a.description,
            "icon": a.icon,
            "starter_prompts": a.starter_prompts,
            # The composer warns when files go to an assistant that cannot read them.
            "file_search": a.file_search,
            "code_interpreter": a.code_interpreter,
        }
        for a in selectors.assistant_list_active(user=request.user)
    ]
    # The picker lists exactly the assistants the user may use: the access check of the
    # conversation's assistant reads it there instead of asking the database again.
    refusal = composer_refusal(
        user=request.user,
        conversation=conversation,
        usable_ids={a["id"] for a in assistants},
    )
    data = {
        "user": {"username": request.user.get_username()},
        "assistants": assistants,
        **_sidebar_page_payload(page, pinned),
        "conversation": conversation_payload(conversation) if conversation else None,
        "messages": message_payloads(window.messages),
        "has_older": window.has_older,
        "max_message_chars": settings.CHAT_MAX_MESSAGE_CHARS,
        # Why the composer cannot send now (an assistant the user lost, a spent budget).
        "composer_refusal": refusal,
        "uploads": {
            "max_bytes": settings.CHAT_UPLOAD_MAX_BYTES,
            "extensions": list(settings.CHAT_UPLOAD_EXTENSIONS),
            "max_attachments": settings.CHAT_MAX_ATTACHMENTS,
        },
        "urls": {
            "index": reverse("chat:index"),
            "login": reverse("login"),
            "socket": "/ws/chat/",
            "conversations": reverse("chat:api_conversations"),
            "conversation": _url_template("chat:conversation"),
            "rename": _url_template("chat:api_conversation_rename"),
            "pin": _url_template("chat:api_conversation_pin"),
            "delete": _url_template("chat:api_conversation_delete"),
            "messages": _url_template("chat:api_conversation_messages"),
            "restore": _url_template("chat:api_conversation_restore"),
            # sharing/'s export views (chat does not import sharing, which imports chat).
            "export_md": "/c/{id}/export.md",
            "export_json": "/c/{id}/export.json",
            "uploads": reverse("chat:api_uploads"),
            "upload": _url_template("chat:api_upload"),
            "usage": reverse("organisation:usage"),
        },
    }
    context = {
        "chat_data": data,
        "conversation": conversation,
        "assistants": data["assistants"],
        "composer_refusal": data["composer_refusal"],
    }
    return render(request, "chat/index.html", context)


@require_GET
@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    """The chat page on the "new chat" screen."""
    return _chat_page(request, conversation=None)


@require_GET
@ensure_csrf_cookie
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The chat page with one of the user's conversations open."""
    try:
        conversation = selectors.conversation_get(user=request.user, conversation_id=pk)
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.") from None
    return _chat_page(request, conversation=conversation)


# --- JSON API ------------------------------------------------------------------------------


@api_login_required
@require_GET
def api_conversations(request: HttpRequest) -> JsonResponse:
    """A sidebar page: `?q=` searches titles and messages, `?cursor=` continues a listing.
    A first page (no cursor) also lists the pinned conversations."""
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    before = None
    if cursor := request.GET.get("cursor"):
        try:
            before = decode_cursor(cursor)
        except ValueError:
            return json_error("Invalid cursor.", status=400)
    page = selectors.conversation_page(
        user=request.user, query=query, before=before, limit=settings.CHAT_SIDEBAR_PAGE_SIZE
    )
    pinned = (
        selectors.conversation_list_pinned(user=request.user, query=query)
        if before is None
        else None
    )
    return JsonResponse(_sidebar_page_payload(page, pinned))


@api_login_required
@require_GET
def api_conversation_messages(request: HttpRequest, pk: int) -> JsonResponse:
    """Older messages of one of the user's conversations, for the transcript as the reader
    scrolls up: `?before=<message id>` gives the latest ones before it (oldest first),
    `?limit=` how many (at most the page size). `has_older` says whether more remain."""
    try:
        conversation = selectors.conversation_get(user=request.user, conversation_id=pk)
    except Conversation.DoesNotExist:
        return json_error("No such conversation.", status=404)
    before = request.GET.get("before")
    limit = request.GET.get("limit")
    page_size = settings.CHAT_TRANSCRIPT_PAGE_SIZE
    try:
        before = int(before) if before is not None else None
        limit = int(limit) if limit is not None else page_size
    except ValueError:
        return json_error("`before` and `limit` must be whole numbers.", status=400)
    if before is not None and not id_in_range(before):
        return json_error("`before` is not a message id.", status=400)
    if not 1 <= limit <= page_size:
        return json_error(f"`limit` must be between 1 and {page_size}.", status=400)
    window = selectors.message_window(conversation=conversation, before=before, limit=limit)
    return JsonResponse(
        {"messages": message_payloads(window.messages), "has_older": window.has_older}
    )


@api_login_required
@require_POST
def api_conversation_rename(request: HttpRequest, pk: int) -> JsonResponse:
    title = _request_field(request, "title")
    if title is None:
        return json_error("A title is required.", status=400)
    try:
        conversation = conversation_services.conversation_rename(
            user=request.user, conversation_id=pk, title=title
        )
    except Conversation.DoesNotExist:
        return json_error("No such conversation.", status=404)
    except Refused as refusal:
        return json_refused(refusal)
    return JsonResponse(conversation_payload(conversation))


@api_login_required
@require_POST
def api_conversation_pin(request: HttpRequest, pk: int) -> JsonResponse:
    pinned = _request_flag(request, "pinned")
    if pinned is None:
        return json_error("`pinned` must be true or false.", status=400)
    try:
        conversation = conversation_services.conversation_pin(
            user=request.user, conversation_id=pk, pinned=pinned
        )
    except Conversation.DoesNotExist:
        return json_error("No such conversation.", status=404)
    return JsonResponse(conversation_payload(conversation))


@api_login_required
@require_POST
def api_conversation_delete(request: HttpRequest, pk: int) -> JsonResponse:
    """Hidden at once; restorable with .../restore for `undo_seconds`, then purged."""
    try:
        conversation_services.conversation_delete(user=request.user, conversation_id=pk)
    except Conversation.DoesNotExist:
        return json_error("No such conversation.", status=404)
    return JsonResponse({"deleted": pk, "undo_seconds": settings.CHAT_UNDO_SECONDS})


@api_login_required
@require_POST
def api_conversation_restore(request: HttpRequest, pk: int) -> JsonResponse:
    """Undo of a delete: the conversation as it was, or 409 once the undo window closed."""
    try:
        conversation = conversation_services.conversation_restore(
            user=request.user, conversation_id=pk
        )
    except Conversation.DoesNotExist:
        return json_error("No such conversation.", status=404)
    except Refused as refusal:
        return json_refused(refusal)
    return JsonResponse(conversation_payload(conversation))
