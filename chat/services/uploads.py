"""Files users attach to messages: stored on upload, claimed by the message that sends them.

An upload is "unsent" until a message claims it (sets its conversation and message); only
then does it reach the provider (chat.services.tool_resources), so deleting an unsent upload
or sweeping old ones is a purely local matter.
"""

from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from chat.models import Conversation, Message, Upload

from .file_types import SNIFF_BYTES, FileTypeRefused, file_content_type
from .refusals import Refused

NAME_MAX_CHARS = 255
# Unsent uploads one user may hold: enough for several messages' worth of attachments, not
# a free file store.
UNSENT_PER_MESSAGE_ALLOWANCE = 5
UPLOAD_UNAVAILABLE = (
    "An attached file is not available: it was sent already, removed, or is not yours. "
    "Attach it again."
)


class UploadRefused(Refused):
    """A file or an attachment was refused; `code` and the message go to the user."""


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size:,} bytes"


def upload_too_large_message() -> str:
    limit = settings.CHAT_UPLOAD_MAX_BYTES
    return f"This file is too large: the limit is {_megabytes(limit)}."


def file_checked(*, file: UploadedFile | None) -> tuple[str, str]:
    """The (name, content type) of an uploaded file the site accepts; raises UploadRefused
    with code no_file, empty_file, file_too_large or file_type otherwise."""
    if file is None:
        raise UploadRefused("no_file", "Choose a file to attach.")
    name = (file.name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:NAME_MAX_CHARS]
    if not name:
        raise UploadRefused("no_file", "The file has no name.")
    if not file.size:
        raise UploadRefused("empty_file", f"“{name}” is empty.")
    if file.size > settings.CHAT_UPLOAD_MAX_BYTES:
        raise UploadRefused("file_too_large", upload_too_large_message(), status=413)
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    try:
        content_type = file_content_type(name=name, head=head)
    except FileTypeRefused as exc:
        raise UploadRefused("file_type", f"“{name}”: {exc}") from None
    return name, content_type


def upload_create(*, user, file: UploadedFile | None) -> Upload:
    """Stores a file the user attached (not sent yet)."""
    name, content_type = file_checked(file=file)
    limit = settings.CHAT_MAX_ATTACHMENTS * UNSENT_PER_MESSAGE_ALLOWANCE
    if Upload.objects.filter(owner=user, conversation__isnull=True).count() >= limit:
        raise UploadRefused(
            "too_many_files",
            f"You have {limit} files waiting to be sent. Send or remove some first.",
        )
    upload = Upload(owner=user, name=name, content_type=content_type, size=file.size)
    # The stored name is random (see chat.models); the user's name is only metadata.
    upload.file.save(name, file, save=False)
    upload.save()
    return upload


def upload_delete(*, user, upload_id: int) -> None:
    """Removes an upload that was not sent yet; Upload.DoesNotExist for anything else."""
    Upload.objects.get(pk=upload_id, owner=user, conversation__isnull=True).delete()


def uploads_claim(
    *,
    user,
    upload_ids: list[int],
    conversation: Conversation,
    message: Message,
    reattach: bool = False,
) -> list[Upload]:
    """Attaches the user's unsent uploads to `message`. With `reattach` (an edit), also the
    conversation's uploads that no message holds any more: the replaced message's files,
    which the edited message may keep. All or nothing: UploadRefused("bad_attachment") when
    one is unknown, someone else's or sent already. Call inside the message's transaction,
    so a refusal saves nothing."""
    if not upload_ids:
        return []
    ids = set(upload_ids)
    claimable = Upload.objects.filter(pk__in=ids, owner=user, conversation__isnull=True)
    if reattach:
        claimable = claimable | Upload.objects.filter(
            pk__in=ids, owner=user, conversation=conversation, message__isnull=True
        )
    # An update whose row count is checked: two sends racing for one upload cannot both win.
    claimed = Upload.objects.filter(pk__in=claimable.values("pk")).update(
        conversation=conversation, message=message
    )
    if claimed != len(ids):
        raise UploadRefused("bad_attachment", UPLOAD_UNAVAILABLE)
    return list(message.uploads.all())


def uploads_delete_unsent(*, older_than: timedelta | None = None) -> int:
    """Deletes uploads never sent with a message (a closed tab, a changed mind); returns how
    many. Local only: unsent files were never given to a provider."""
    if older_than is None:
        older_than = timedelta(hours=settings.CHAT_UNSENT_UPLOAD_HOURS)
    stale = Upload.objects.filter(
        conversation__isnull=True, created_at__lt=timezone.now() - older_than
    )
    with transaction.atomic():
        deleted, _ = stale.delete()
    return deleted
