"""The feedback API of the chat page: rate a reply, and read one's ratings of a
conversation. JSON in and out, CSRF-checked, the owner's replies only."""

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from chat.ids import id_in_range
from chat.models import Conversation, Message
from chat.services.refusals import Refused
from chat.views import api_login_required, json_error, json_refused

from . import selectors, services
from .models import Feedback


def feedback_payload(feedback: Feedback | None, *, message_id: int) -> dict:
    return {
        "message_id": message_id,
        "rating": feedback.rating if feedback else None,
        "comment": feedback.comment if feedback else "",
    }


@api_login_required
@require_POST
def api_feedback_set(request: HttpRequest, pk: int) -> JsonResponse:
    """POST /api/messages/<id>/feedback, JSON {"rating": "up" | "down" | null,
    "comment": "..."}: the user's rating of a reply of theirs, replacing any earlier one."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return json_error("The body must be JSON.", status=400)
    if not isinstance(body, dict) or "rating" not in body:
        return json_error('A `rating` ("up", "down" or null) is required.', status=400)
    rating, comment = body["rating"], body.get("comment", "")
    if not (rating is None or isinstance(rating, str)) or not isinstance(comment, str):
        return json_error('`rating` must be "up", "down" or null; `comment` text.', status=400)
    try:
        feedback = services.feedback_set(
            user=request.user, message_id=pk, rating=rating, comment=comment
        )
    except Message.DoesNotExist:
        return json_error("No such reply.", status=404)
    except Refused as refusal:
        return json_refused(refusal)
    return JsonResponse(feedback_payload(feedback, message_id=pk))


@api_login_required
@require_GET
def api_feedback_list(request: HttpRequest) -> JsonResponse:
    """GET /api/feedback/?conversation=<id>: the user's ratings of that conversation's
    replies."""
    raw = request.GET.get("conversation", "")
    if not raw.isdigit() or not id_in_range(int(raw)):
        return json_error("`conversation` must be a conversation id.", status=400)
    try:
        found = selectors.feedback_for_conversation(user=request.user, conversation_id=int(raw))
    except Conversation.DoesNotExist:
        return json_error("No such conversation.", status=404)
    return JsonResponse({"feedback": [feedback_payload(f, message_id=f.message_id) for f in found]})
