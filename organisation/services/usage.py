"""Writes: a reply's usage once it ended, replacing the reservation its turn held.

The provider's count where it reported one (chat.agents.usage); else an estimate from the
text, with chat's own rule (characters / 4 plus 4 a message): what the assistant was sent
(its instructions and the transcript before the reply, which a remote thread holds too) and
what it wrote. A reply with no text and no count (refused or failed at once) counts 0.
"""

from django.db.models import Sum
from django.db.models.functions import Length

from chat.agents.history import TOKENS_PER_MESSAGE, estimated_tokens
from chat.models import Message
from chat.prepared_statements import PreparedUpdate

from .. import clock
from ..models import UsageRecord

_USAGE_OF_REPLY = PreparedUpdate(UsageRecord, where=("reply",))  # at every reply's end


def _estimated_input(reply: Message) -> int:
    sent = Message.objects.filter(conversation_id=reply.conversation_id, pk__lt=reply.pk)
    row = sent.aggregate(chars=Sum(Length("content")))
    count = sent.count()
    instructions = (
        UsageRecord.objects.filter(reply=reply)
        .values_list("assistant__instructions", flat=True)
        .first()
    )
    chars = (row["chars"] or 0) + len(instructions or "")
    return -(-chars // 4) + TOKENS_PER_MESSAGE * (count + bool(instructions))


def usage_finish(*, reply: Message, usage: dict) -> None:
    """Records what `reply` used (`usage`: {"input_tokens", "output_tokens"} as reported)."""
    input_tokens, output_tokens = usage.get("input_tokens"), usage.get("output_tokens")
    estimated = input_tokens is None or output_tokens is None
    if estimated and not reply.content:
        input_tokens, output_tokens = input_tokens or 0, output_tokens or 0
    if input_tokens is None:
        input_tokens = _estimated_input(reply)
    if output_tokens is None:
        output_tokens = estimated_tokens(reply.content)
    fields = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "estimated": estimated,
        "finished_at": clock.now(),
    }
    if reply.model:
        fields["model"] = reply.model
    _USAGE_OF_REPLY.run(reply.pk, **fields)
