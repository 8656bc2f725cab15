"""Both idempotency stores behave the same: the in-process one, and Azure Table storage on Azurite."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shared.azure.storage import StorageClients
from shared.delivery.idempotency import IdempotencyStore, Outcome
from shared.delivery.idempotency import memory as memory_module
from shared.delivery.idempotency import table as table_module
from shared.delivery.idempotency.base import IdempotencyUnavailable
from shared.delivery.idempotency.memory import MemoryIdempotencyStore
from shared.delivery.idempotency.table import TableIdempotencyStore
from shared.settings.delivery import StorageConnection


@pytest.fixture(params=["memory", "table"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_store(store_kind: str, azurite: str) -> Callable[[], IdempotencyStore]:
    def make() -> IdempotencyStore:
        if store_kind == "memory":
            return MemoryIdempotencyStore()
        return TableIdempotencyStore(StorageClients(StorageConnection(connection_string=azurite), requests.Session()))

    return make


def fresh_key() -> str:
    # Characters Table storage refuses in keys, to prove they are hashed away.
    return f"hooks/alertmanager/default:{uuid.uuid4()}#?/\\"


def test_first_claim_wins_and_later_ones_get_its_request_id(new_store: Callable[[], IdempotencyStore]) -> None:
    store, key = new_store(), fresh_key()
    first = store.claim(key, "request-1", ttl_s=60)
    assert (first.first, first.request_id) == (True, "request-1")
    store.complete(first)
    second = store.claim(key, "request-2", ttl_s=60)
    assert (second.first, second.request_id) == (False, "request-1")


def test_a_claim_in_progress_is_a_duplicate_too(new_store: Callable[[], IdempotencyStore]) -> None:
    store, key = new_store(), fresh_key()
    assert store.claim(key, "request-1", ttl_s=60).first
    assert not store.claim(key, "request-2", ttl_s=60).first


def test_release_lets_a_retry_send(new_store: Callable[[], IdempotencyStore]) -> None:
    store, key = new_store(), fresh_key()
    store.release(store.claim(key, "request-1", ttl_s=60))
    retry = store.claim(key, "request-2", ttl_s=60)
    assert (retry.first, retry.request_id) == (True, "request-2")


def test_keys_expire_after_their_ttl(new_store: Callable[[], IdempotencyStore]) -> None:
    store, key = new_store(), fresh_key()
    store.complete(store.claim(key, "request-1", ttl_s=1))
    time.sleep(1.2)
    assert store.claim(key, "request-2", ttl_s=60).first


def test_an_abandoned_claim_lapses_after_its_lease_and_its_taker_is_told(
    new_store: Callable[[], IdempotencyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "LEASE_S", 1)
    monkeypatch.setattr(table_module, "LEASE_S", 1)
    store, key = new_store(), fresh_key()
    abandoned = store.mark_sending(store.claim(key, "request-1", ttl_s=60))  # the process "died" mid-send
    assert not store.claim(key, "request-2", ttl_s=60).first
    time.sleep(1.2)
    taken_over = store.claim(key, "request-3", ttl_s=60)
    assert (taken_over.first, taken_over.request_id, taken_over.abandoned_by) == (True, "request-3", "request-1")
    store.release(abandoned)  # the old owner's late release must not free the new owner's key
    assert not store.claim(key, "request-4", ttl_s=60).first


def test_a_claim_that_lapsed_before_its_send_began_is_simply_taken_over(
    new_store: Callable[[], IdempotencyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "LEASE_S", 1)
    monkeypatch.setattr(table_module, "LEASE_S", 1)
    store, key = new_store(), fresh_key()
    store.claim(key, "request-1", ttl_s=60)  # died before marking the claim sending: nothing went out
    time.sleep(1.2)
    taken_over = store.claim(key, "request-2", ttl_s=60)
    assert (taken_over.first, taken_over.abandoned_by) == (True, None)
    store.complete(store.mark_sending(taken_over))  # the settle after the mark uses the mark's version
    assert store.claim(key, "request-3", ttl_s=60).outcome is Outcome.SENT


def test_an_expired_key_is_a_fresh_start_not_an_abandoned_one(new_store: Callable[[], IdempotencyStore]) -> None:
    store, key = new_store(), fresh_key()
    store.claim(key, "request-1", ttl_s=1)
    time.sleep(1.2)
    assert store.claim(key, "request-2", ttl_s=60).abandoned_by is None


@pytest.mark.parametrize("outcome", [None, Outcome.SENT, Outcome.UNKNOWN])
def test_a_repeat_learns_how_the_first_ended(
    new_store: Callable[[], IdempotencyStore], outcome: Outcome | None
) -> None:
    store, key = new_store(), fresh_key()
    first = store.claim(key, "request-1", ttl_s=60)
    if outcome is not None:
        store.complete(first, outcome)
    repeat = store.claim(key, "request-2", ttl_s=60)
    assert (repeat.first, repeat.request_id, repeat.outcome) == (False, "request-1", outcome)


def test_concurrent_claims_have_exactly_one_winner(new_store: Callable[[], IdempotencyStore]) -> None:
    key = fresh_key()
    stores = [new_store() for _ in range(2)]  # two bridges (processes) against one table
    if isinstance(stores[0], MemoryIdempotencyStore):
        stores = [stores[0], stores[0]]  # the in-process store is per process by design
    barrier = threading.Barrier(16)

    def claim(index: int) -> bool:
        barrier.wait()
        return stores[index % 2].claim(key, f"request-{index}", ttl_s=60).first

    with ThreadPoolExecutor(16) as pool:
        winners = sum(pool.map(claim, range(16)))
    assert winners == 1


def test_concurrent_takeovers_of_a_lapsed_claim_have_one_winner(
    new_store: Callable[[], IdempotencyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "LEASE_S", 1)
    monkeypatch.setattr(table_module, "LEASE_S", 1)
    store, key = new_store(), fresh_key()
    store.claim(key, "abandoned", ttl_s=60)
    time.sleep(1.2)
    barrier = threading.Barrier(8)

    def claim(index: int) -> bool:
        barrier.wait()
        return store.claim(key, f"request-{index}", ttl_s=60).first

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(claim, range(8))) == 1


def test_an_unknown_outcome_is_reopened_by_exactly_one_of_many(new_store: Callable[[], IdempotencyStore]) -> None:
    # The draft method finishes a send whose outcome is unknown: one repeat at a time may try.
    store, key = new_store(), fresh_key()
    first = store.claim(key, "request-1", ttl_s=60)
    assert store.reopen(key, "request-1", ttl_s=60) is None, "not unknown: nothing to reopen"
    store.complete(first, Outcome.UNKNOWN)
    with ThreadPoolExecutor(8) as pool:
        reopened = list(pool.map(lambda _: store.reopen(key, "request-1", ttl_s=60), range(8)))
    [winner] = [claim for claim in reopened if claim is not None]
    assert (winner.first, winner.request_id) == (True, "request-1")
    repeat = store.claim(key, "request-2", ttl_s=60)
    assert (repeat.first, repeat.outcome) == (False, None), "in progress while it is being finished"
    store.complete(winner)
    assert store.claim(key, "request-3", ttl_s=60).outcome is Outcome.SENT
    assert store.reopen(key, "request-1", ttl_s=60) is None


def test_how_far_a_send_got_is_kept_for_the_claimant_that_reopens_it(
    new_store: Callable[[], IdempotencyStore],
) -> None:
    # The draft method records "a /send was posted for draft X" before posting it; a resume reads it.
    store, key = new_store(), fresh_key()
    sending = store.mark_sending(store.claim(key, "request-1", ttl_s=60))
    assert sending.progress == ""
    posted = store.record_progress(sending, '{"sendPostedFor":"draft-1"}')
    with pytest.raises(IdempotencyUnavailable):
        store.record_progress(sending, "stale")  # an older version of the claim records nothing
    store.complete(posted, Outcome.UNKNOWN)  # settled with the latest version
    assert store.claim(key, "request-2", ttl_s=60).outcome is Outcome.UNKNOWN
    reopened = store.reopen(key, "request-1", ttl_s=60)
    assert reopened is not None and reopened.progress == '{"sendPostedFor":"draft-1"}'
    store.complete(reopened, Outcome.UNKNOWN)  # still unknown: the next reopen reads the same
    again = store.reopen(key, "request-1", ttl_s=60)
    assert again is not None and again.progress == '{"sendPostedFor":"draft-1"}'


def test_an_abandoned_send_keeps_its_request_id_and_progress_when_taken_over(
    new_store: Callable[[], IdempotencyStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its draft carries request-1's id: whoever resumes it later must look for request-1, knowing how far it got.
    monkeypatch.setattr(memory_module, "LEASE_S", 1)
    monkeypatch.setattr(table_module, "LEASE_S", 1)
    store, key = new_store(), fresh_key()
    sending = store.mark_sending(store.claim(key, "request-1", ttl_s=60))
    store.record_progress(sending, "posted draft-9")  # then the process "died"
    time.sleep(1.2)
    taken_over = store.claim(key, "request-2", ttl_s=60)
    assert taken_over.abandoned_by == "request-1"
    store.complete(taken_over, Outcome.UNKNOWN)  # what the dispatcher does with an abandoned claim
    repeat = store.claim(key, "request-3", ttl_s=60)
    assert (repeat.request_id, repeat.outcome) == ("request-1", Outcome.UNKNOWN)
    reopened = store.reopen(key, "request-1", ttl_s=60)
    assert reopened is not None and reopened.progress == "posted draft-9"


def test_a_progress_write_whose_answer_was_lost_is_read_back(azurite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Faults Azurite cannot make: the SDK call is wrapped to lose the answer of a write Azurite applied
    # (as a timeout after the request left does), or to fail before the request is sent.
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from azure.data.tables import TableClient

    store = TableIdempotencyStore(StorageClients(StorageConnection(connection_string=azurite), requests.Session()))
    original = TableClient.update_entity
    fault: list[str] = []

    def update_entity(self: TableClient, *args: object, **kwargs: object) -> object:
        if fault and fault[0] == "before":
            fault.clear()
            raise ServiceRequestError("connection refused")
        answer = original(self, *args, **kwargs)  # type: ignore[arg-type]
        if fault and fault[0] == "after":
            fault.clear()
            raise ServiceResponseError("the answer was lost")
        return answer

    monkeypatch.setattr(TableClient, "update_entity", update_entity)
    key = fresh_key()
    sending = store.mark_sending(store.claim(key, "request-1", ttl_s=60))
    fault.append("after")
    posted = store.record_progress(sending, '{"sendPostedFor":"draft-1"}')
    assert posted.progress == '{"sendPostedFor":"draft-1"}' and posted.etag != sending.etag
    store.complete(posted)  # the version read back is the one that settles it
    assert store.claim(key, "request-2", ttl_s=60).outcome is Outcome.SENT

    other = store.mark_sending(store.claim(fresh_key(), "request-3", ttl_s=60))
    fault.append("before")
    with pytest.raises(IdempotencyUnavailable):
        store.record_progress(other, '{"sendPostedFor":"draft-3"}')  # never written: the step is not taken
