"""Who the bridge sends as and to whom it may send: the sender, the allow-lists, the default recipients."""

from __future__ import annotations

from dataclasses import dataclass

from shared.addresses import address_domain, is_domain
from shared.settings.reader import SettingsReader


@dataclass(frozen=True)
class PolicySettings:
    sender: str
    allowed_senders: frozenset[str]  # lower-cased; always includes the sender
    default_to: tuple[str, ...]
    allowed_recipient_domains: frozenset[str]  # lower-cased; "*.x" for subdomains; empty means any
    # Lower-cased: addresses a message may be `from` that are no sending mailbox of ours (distribution
    # lists, groups, shared mailboxes), sent through a sending mailbox granted SendAs or SendOnBehalf.
    allowed_from: frozenset[str] = frozenset()

    def from_allowed(self, address: str) -> bool:
        return address.lower() in self.allowed_senders or address.lower() in self.allowed_from

    def recipient_domain_allowed(self, address: str) -> bool:
        if not self.allowed_recipient_domains:
            return True
        domain = address_domain(address)
        return any(
            domain == allowed or (allowed.startswith("*.") and domain.endswith(allowed[1:]))
            for allowed in self.allowed_recipient_domains
        )


def read_policy(read: SettingsReader) -> PolicySettings:
    sender = ""
    if read.text("MAIL_SENDER") is None:
        read.fail("MAIL_SENDER", "required: the mailbox the bridge sends as")
    else:
        senders = read.addresses("MAIL_SENDER")
        sender = senders[0] if senders else ""
    allowed_senders = frozenset(a.lower() for a in [sender, *read.addresses("MAIL_ALLOWED_SENDERS")] if a)

    allowed_domains: set[str] = set()
    for item in (read.text("MAIL_ALLOWED_RECIPIENT_DOMAINS") or "").split(","):
        domain = item.strip().lower()
        if not domain:
            continue
        if not is_domain(domain.removeprefix("*.")):
            read.fail("MAIL_ALLOWED_RECIPIENT_DOMAINS", f"'{domain}' is not a domain name")
        allowed_domains.add(domain)

    policy = PolicySettings(
        sender=sender,
        allowed_senders=allowed_senders,
        allowed_from=frozenset(a.lower() for a in read.addresses("MAIL_ALLOWED_FROM")),
        default_to=tuple(read.addresses("MAIL_DEFAULT_TO")),
        allowed_recipient_domains=frozenset(allowed_domains),
    )
    for address in policy.default_to:
        if not policy.recipient_domain_allowed(address):
            read.fail("MAIL_DEFAULT_TO", f"{address} is outside MAIL_ALLOWED_RECIPIENT_DOMAINS")
    return policy
