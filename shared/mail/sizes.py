"""Graph's size limits on a message, and an attachment's size read from its base64 without decoding it.

- A request to Graph: under 4 MB ("The maximum request length supported is 4MB",
  microsoftgraph/microsoft-graph-docs-contrib#682), so sendMail carries a message under 4 MB in all.
- A file attached in one request: under 3 MB; 3-150 MB through an upload session on a draft
  (https://learn.microsoft.com/graph/api/attachment-createuploadsession). The mailbox's maximum
  message size (35 MB by default, an Exchange admin setting up to 150 MB) is Graph's to enforce:
  ``ErrorMessageSizeExceeded``.
"""

from __future__ import annotations

from shared.mail.graph_message import MAX_GRAPH_REQUEST_BYTES, AnyAttachment, FileAttachment, GraphSend, Message

# Exchange Online's attachments per message
# (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#message-limits);
# the draft path makes a request per attachment, so it is also the bound on a message's Graph calls.
MAX_ATTACHMENTS = 250
# "Under 3 MB": 3,000,000 bytes keeps clear of whichever megabyte is meant.
MAX_INLINE_ATTACHMENT_BYTES = 3_000_000
MAX_ATTACHMENT_BYTES = 150 * 1024 * 1024

__all__ = [
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_GRAPH_REQUEST_BYTES",
    "MAX_INLINE_ATTACHMENT_BYTES",
    "attachment_size_bytes",
    "needs_upload",
    "too_large_for_send_mail",
]


def attachment_size_bytes(attachment: AnyAttachment) -> int:
    """A file's decoded size, from the base64 text's length (compact: no whitespace), without decoding;
    an item or reference attachment's JSON length (it travels as JSON, never in an upload session)."""
    if not isinstance(attachment, FileAttachment):
        return len(attachment.__pydantic_serializer__.to_json(attachment, exclude_none=True))
    text = attachment.content_bytes
    padding = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
    return len(text) // 4 * 3 - padding


def needs_upload(message: Message) -> bool:
    """Whether a file is too large for one request (3 MB or more): it needs a draft's upload session."""
    return any(attachment_size_bytes(a) >= MAX_INLINE_ATTACHMENT_BYTES for a in message.attachments or ())


def too_large_for_send_mail(mail: GraphSend) -> bool:
    """A message sendMail cannot carry: a request of 4 MB or more, or a file of 3 MB or more (in the
    JSON form; a MIME message's files are inside its bytes)."""
    too_large = mail.body_bytes >= MAX_GRAPH_REQUEST_BYTES
    return too_large or (mail.request is not None and needs_upload(mail.request.message))
