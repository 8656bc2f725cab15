"""The mailbox ledger's rules on their own: budget, reserve, pace, slots, leases, giving back."""

from __future__ import annotations

import pytest

from shared.delivery.mailbox import MailboxBusy, MailboxPaced, MailboxRules, Permit, Purpose, RecipientBudgetExhausted
from shared.delivery.mailbox.ledger import BUCKET_S, DAY_S, MailboxLedger, bucket_of

T0 = 1_800_000_000.0  # a bucket boundary: 1_800_000_000 is a multiple of 600
RULES = MailboxRules(recipients_per_day=100, digest_reserve=10, messages_per_minute=5, slot_lease_s=30)


def permit(now: float, recipients: int = 1, purpose: Purpose = Purpose.MAIL, token: str = "") -> Permit:
    token = token or f"t{now}-{recipients}-{purpose}"
    return Permit("ops@contoso.com", token, bucket_of(now), int(now), recipients, purpose)


def admitted(ledger: MailboxLedger, now: float, recipients: int = 1, purpose: Purpose = Purpose.MAIL) -> Permit:
    granted = permit(now, recipients, purpose)
    ledger.admit(RULES, granted, now)
    ledger.settle(granted, taken=True, now=now)
    return granted


def test_the_budget_refuses_past_its_cap_and_keeps_the_reserve_for_digests() -> None:
    ledger = MailboxLedger()
    admitted(ledger, T0, 45)
    admitted(ledger, T0 + 100, 45)
    with pytest.raises(RecipientBudgetExhausted) as refused:
        ledger.admit(RULES, permit(T0 + 200, 1), T0 + 200)
    assert "of which 10 are kept for digests" in refused.value.detail
    # The first bucket leaves the window 24 h after its end: then 45 fit again.
    assert refused.value.retry_after_s == int(T0 + BUCKET_S + DAY_S - (T0 + 200))
    admitted(ledger, T0 + 200, 10, Purpose.DIGEST)  # a digest may use the reserve
    with pytest.raises(RecipientBudgetExhausted):
        ledger.admit(RULES, permit(T0 + 300, 1, Purpose.DIGEST), T0 + 300)
    assert ledger.used == 100


def test_the_budget_rolls_over_24_hours_in_buckets() -> None:
    ledger = MailboxLedger()
    admitted(ledger, T0, 90)
    later = T0 + DAY_S + BUCKET_S - 1  # the bucket still counts, one second before it leaves
    with pytest.raises(RecipientBudgetExhausted):
        ledger.admit(RULES, permit(later, 1), later)
    admitted(ledger, later + 1, 90)
    assert ledger.used == 90


def test_the_pace_keeps_one_message_a_minute_for_digests() -> None:
    ledger = MailboxLedger()
    for second in range(4):
        admitted(ledger, T0 + second)
    with pytest.raises(MailboxPaced) as paced:
        ledger.admit(RULES, permit(T0 + 10), T0 + 10)
    assert paced.value.retry_after_s == 50  # the first of the four leaves the minute at T0 + 60
    admitted(ledger, T0 + 10, purpose=Purpose.DIGEST)
    with pytest.raises(MailboxPaced):
        ledger.admit(RULES, permit(T0 + 11, purpose=Purpose.DIGEST), T0 + 11)
    admitted(ledger, T0 + 61)


def test_at_most_four_sends_in_flight_and_a_crashed_senders_slot_frees_itself() -> None:
    rules = MailboxRules(recipients_per_day=100, digest_reserve=0, messages_per_minute=100, slot_lease_s=30)
    ledger = MailboxLedger()
    held = [permit(T0, token=f"s{n}") for n in range(4)]
    for granted in held:
        ledger.admit(rules, granted, T0)
    with pytest.raises(MailboxBusy):
        ledger.admit(rules, permit(T0 + 1, token="fifth"), T0 + 1)
    ledger.settle(held[0], taken=True, now=T0 + 2)
    ledger.admit(rules, permit(T0 + 2, token="fifth"), T0 + 2)
    with pytest.raises(MailboxBusy):
        ledger.admit(rules, permit(T0 + 3, token="sixth"), T0 + 3)
    # Nobody settles the other three (their instance died): their leases end after 30 s.
    ledger.admit(rules, permit(T0 + 30, token="sixth"), T0 + 30)
    assert set(ledger.slots) == {"fifth", "sixth"}


def test_a_send_graph_did_not_take_gives_back_recipients_and_pace() -> None:
    ledger = MailboxLedger()
    granted = permit(T0, 40)
    ledger.admit(RULES, granted, T0)
    ledger.settle(granted, taken=False, now=T0 + 1)
    assert (ledger.used, ledger.admitted, ledger.slots) == (0, {}, {})


def test_the_ledger_survives_its_storage_form() -> None:
    ledger = MailboxLedger()
    admitted(ledger, T0, 7)
    admitted(ledger, T0 + 1, 3, Purpose.DIGEST)
    restored = MailboxLedger.from_properties(ledger.to_properties())
    assert restored == ledger
    assert restored.last_digest_at == T0 + 1


def test_a_resumed_send_takes_a_slot_and_nothing_else() -> None:
    # Its first attempt was counted against the budget and the pace; its send still needs a slot.
    import dataclasses

    ledger = MailboxLedger()
    first = admitted(ledger, T0, 3)
    slot_only = dataclasses.replace(permit(T0 + 1, 0, token="resume"), slot_only=True)
    for number in range(RULES.send_slots - 1):
        ledger.admit(RULES, permit(T0 + 1, 1, token=f"busy-{number}"), T0 + 1)
    ledger.take_slot(RULES, slot_only, T0 + 1)
    assert (ledger.used, ledger.sent_last_minute, len(ledger.slots)) == (6, 4, 4)
    with pytest.raises(MailboxBusy):
        ledger.take_slot(RULES, dataclasses.replace(slot_only, token="another"), T0 + 1)
    ledger.settle(slot_only, taken=False, now=T0 + 2)  # gives back nobody's recipients or pace entry
    assert (ledger.used, ledger.sent_last_minute, len(ledger.slots)) == (6, 4, 3)
    assert first.recipients == 3
