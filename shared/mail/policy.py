"""Policy: who may send, to whom, and how much — applied to every message before any token is fetched."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.addresses import MAX_RECIPIENTS
from shared.mail.draft import InvalidPayload, MailDraft
from shared.mail.graph_message import (
    MAX_GRAPH_REQUEST_BYTES,
    EmailAddress,
    FileAttachment,
    GraphSend,
    Message,
    Recipient,
)
from shared.mail.sizes import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MAX_INLINE_ATTACHMENT_BYTES, attachment_size_bytes
from shared.problems import FieldError, Problem
from shared.settings import PolicySettings

if TYPE_CHECKING:
    from shared.mail.mime_request import MimeDraft


class SenderNotAllowed(Problem):
    status = 403
    code = "sender_not_allowed"
    title = "The sender mailbox is not allowed"


class RecipientNotAllowed(Problem):
    status = 403
    code = "recipient_not_allowed"
    title = "A recipient is outside the allowed domains"


class RouteWithoutRecipients(Problem):
    status = 503
    code = "route_without_recipients"
    title = "The route has no recipients"


class MessageTooLarge(Problem):
    status = 413
    code = "message_too_large"
    title = "The message is too large for Microsoft Graph"


class MailPolicy:
    def __init__(self, settings: PolicySettings) -> None:
        self._settings = settings

    def approve(self, draft: MailDraft) -> GraphSend:
        """Apply defaults and allow-lists; return the exact sendMail call, or raise a Problem."""
        mailbox = self._sending_mailbox(draft.from_address, draft.sender_address, draft.from_field, draft.sender_field)
        request = draft.request
        message = request.message
        if draft.from_address is not None and message.from_ is None and draft.from_address.lower() != mailbox.lower():
            # The simplified payload and routes name `from` as an address: a list or group it names
            # is not the URL mailbox, so the message itself must say whom it is from.
            from_ = Recipient(email_address=EmailAddress(address=draft.from_address))
            request = request.model_copy(update={"message": message.model_copy(update={"from_": from_})})
            message = request.message
        if not message.recipients():
            # The one place MAIL_DEFAULT_TO applies: to /api/mail without recipients, and to routes without any.
            if not self._settings.default_to and draft.route_name is not None:
                raise RouteWithoutRecipients(
                    f"Route '{draft.route_name}' names no recipients; set its 'to' in MAIL_ROUTES, or MAIL_DEFAULT_TO."
                )
            if not self._settings.default_to:
                raise InvalidPayload(
                    "No recipients: give 'to', 'cc' or 'bcc' (or set MAIL_DEFAULT_TO).",
                    errors=[FieldError(draft.recipients_field, "at least one recipient is required")],
                )
            default_to = [Recipient(email_address=EmailAddress(address=a)) for a in self._settings.default_to]
            request = request.model_copy(update={"message": message.model_copy(update={"to_recipients": default_to})})
            message = request.message

        recipients = message.recipients()
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidPayload(
                f"{len(recipients)} recipients; Exchange allows at most {MAX_RECIPIENTS} per message.",
                errors=[
                    FieldError(
                        draft.recipients_field, f"at most {MAX_RECIPIENTS} recipients in to, cc and bcc together"
                    )
                ],
            )
        # Reply-To obeys the allow-list too: answers to a mail from our mailbox must not go to a
        # domain it may not write to (the phisher's "reply to confirm").
        refused = [
            (field, r.email_address.address)
            for field, addresses in ((draft.recipients_field, recipients), (draft.reply_to_field, message.reply_to))
            for r in addresses or ()
            if not self._settings.recipient_domain_allowed(r.email_address.address)
        ]
        if refused:
            raise RecipientNotAllowed(
                f"{len(refused)} address(es) are outside MAIL_ALLOWED_RECIPIENT_DOMAINS; nothing was sent.",
                errors=[FieldError(field, f"{address} is not in an allowed domain") for field, address in refused],
            )

        attachments = message.attachments or []
        if len(attachments) > MAX_ATTACHMENTS:
            field = "message.attachments" if draft.recipients_field.startswith("message.") else "attachments"
            raise InvalidPayload(
                f"{len(attachments)} attachments; Exchange Online takes at most {MAX_ATTACHMENTS} per message.",
                errors=[FieldError(field, f"at most {MAX_ATTACHMENTS} attachments")],
            )
        if draft.generated is not None:
            import base64

            from shared.mail.mime_message import generated_mime

            mime = generated_mime(mailbox, request, draft.generated)
            return GraphSend(mailbox, None, base64.b64encode(mime.raw), draft.digest, mime)
        mail = GraphSend(mailbox=mailbox, request=request, digest=draft.digest)  # its body built when read
        if mail.body_bytes >= MAX_GRAPH_REQUEST_BYTES:
            _check_large_message(message)
        return mail

    def approve_mime(self, draft: MimeDraft) -> GraphSend:
        """The same rules for a caller's MIME message, whose bytes are forwarded unchanged.

        The mailbox in the URL is chosen from From and Sender as the JSON form's ``from`` and
        ``sender`` choose it (``_sending_mailbox``; MAIL_SENDER without either, and Exchange then
        fills From in). Nothing can be added to bytes we do not rewrite, so MAIL_DEFAULT_TO does not
        apply: a message without recipients is refused, naming the headers to give.
        """
        mailbox = self._sending_mailbox(draft.from_address, draft.sender_address, "From", "Sender")
        recipients = draft.recipient_addresses()
        if not recipients:
            raise InvalidPayload(
                "No recipients: give a To, Cc or Bcc header. MAIL_DEFAULT_TO cannot apply to a MIME message, "
                "which is forwarded unchanged.",
                errors=[FieldError("To", "at least one recipient is required in To, Cc or Bcc")],
            )
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidPayload(
                f"{len(recipients)} recipients; Exchange allows at most {MAX_RECIPIENTS} per message.",
                errors=[FieldError("To", f"at most {MAX_RECIPIENTS} recipients in To, Cc and Bcc together")],
            )
        refused = [
            (header, address)
            for header, addresses in (*draft.recipients.items(), ("Reply-To", draft.reply_to))
            for address in addresses
            if not self._settings.recipient_domain_allowed(address)
        ]
        if refused:
            raise RecipientNotAllowed(
                f"{len(refused)} address(es) are outside MAIL_ALLOWED_RECIPIENT_DOMAINS; nothing was sent.",
                errors=[FieldError(header, f"{address} is not in an allowed domain") for header, address in refused],
            )
        if len(draft.graph_body) >= MAX_GRAPH_REQUEST_BYTES:
            raise MessageTooLarge(
                f"The Graph request would be {len(draft.graph_body):,} bytes of base64; Microsoft Graph accepts "
                f"less than {MAX_GRAPH_REQUEST_BYTES:,} (4 MB). Send smaller or fewer attachments, or a link instead.",
            )
        return GraphSend(
            mailbox=mailbox,
            request=None,
            prepared_body=draft.graph_body,
            mime=draft.content(),
        )

    def _sending_mailbox(self, from_: str | None, sender: str | None, from_field: str, sender_field: str) -> str:
        """The mailbox in /users/{mailbox}/sendMail: the one that sends, and keeps the Sent Items copy.

        Graph sends through the mailbox in the URL; `from` is who the mail is from, which may be
        another mailbox, a distribution list or a group that mailbox holds SendAs or SendOnBehalf on;
        `sender` is the mailbox that sends when it is not `from` (a delegate). The copy goes to the
        URL mailbox's Sent Items; a list or group has none
        (https://learn.microsoft.com/graph/outlook-send-mail-from-other-user, "Sent Items behavior").
        So: `sender` if given; else `from` when it is a sending mailbox of ours; else MAIL_SENDER.
        """
        settings = self._settings
        refused = []
        if sender is not None and sender.lower() not in settings.allowed_senders:
            refused.append(FieldError(sender_field, f"{sender} is not a sending mailbox in MAIL_ALLOWED_SENDERS"))
        if from_ is not None and not settings.from_allowed(from_):
            refused.append(FieldError(from_field, f"{from_} is not in MAIL_ALLOWED_SENDERS or MAIL_ALLOWED_FROM"))
        if refused:
            names = " and ".join(f"'{address}'" for address in (sender, from_) if address is not None)
            raise SenderNotAllowed(
                f"{names}: not allowed to send (MAIL_ALLOWED_SENDERS, MAIL_ALLOWED_FROM); nothing was sent.",
                errors=refused,
            )
        if sender is not None:
            return sender
        if from_ is not None and from_.lower() in settings.allowed_senders:
            return from_
        return settings.sender


def _check_large_message(message: Message) -> None:
    """A message too large for sendMail takes the draft path (shared.delivery.transports.graph_drafts)
    if its files are at most an upload session's 150 MB, its item and reference attachments (JSON,
    posted as they are) under 3 MB, and the rest under Graph's 4 MB request limit; the mailbox's own
    maximum message size is Graph's to enforce (ErrorMessageSizeExceeded, 413)."""
    attachments = message.attachments or []
    too_large = [
        f"attachment {index + 1} ({attachment.name}) is {size:,} bytes"
        for index, attachment in enumerate(attachments)
        if (size := attachment_size_bytes(attachment))
        > (MAX_ATTACHMENT_BYTES if isinstance(attachment, FileAttachment) else MAX_INLINE_ATTACHMENT_BYTES - 1)
    ]
    if too_large:
        raise MessageTooLarge(
            f"Microsoft Graph attaches files of at most {MAX_ATTACHMENT_BYTES:,} bytes (150 MB), item attachments of "
            f"less than {MAX_INLINE_ATTACHMENT_BYTES:,}: "
            f"{'; '.join(too_large)}."
        )
    rest_bytes = len(message.__pydantic_serializer__.to_json(message, exclude_none=True, exclude={"attachments"}))
    if rest_bytes >= MAX_GRAPH_REQUEST_BYTES:
        raise MessageTooLarge(
            f"The message without its attachments would be {rest_bytes:,} bytes; Microsoft Graph accepts "
            f"requests of less than {MAX_GRAPH_REQUEST_BYTES:,} (4 MB). Send a shorter body, or the text as "
            "an attachment.",
        )
