"""Mailbox-wide limits: the recipient budget, the message pace and the send slots of each sender
mailbox, shared by every instance of the bridge (``table``) or, without storage, by one process
(``memory``). The rules are in ``ledger``; ``base`` is what the dispatcher sees.
"""

from shared.delivery.mailbox.base import (
    MailboxLimits,
    MailboxLimitsUnavailable,
    MailboxUsage,
    admit_waiting,
    slot_waiting,
)
from shared.delivery.mailbox.ledger import (
    MailboxBusy,
    MailboxPaced,
    MailboxRules,
    Permit,
    Purpose,
    RecipientBudgetExhausted,
)

__all__ = [
    "MailboxBusy",
    "MailboxLimits",
    "MailboxLimitsUnavailable",
    "MailboxPaced",
    "MailboxRules",
    "MailboxUsage",
    "Permit",
    "Purpose",
    "RecipientBudgetExhausted",
    "admit_waiting",
    "slot_waiting",
]
