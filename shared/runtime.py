"""The process-wide pieces, built once from settings: policy, token provider, transport.

Built on first use rather than at import, so a wrong setting never stops the Functions host from
indexing the app: /api/health names it and the mail routes answer 503 until it is fixed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import requests
from requests.adapters import HTTPAdapter

from shared.azure.tokens import MsalTokenProvider
from shared.delivery.dispatch import Dispatcher
from shared.delivery.idempotency import IdempotencyStore
from shared.delivery.idempotency.memory import MemoryIdempotencyStore
from shared.delivery.limits import RateLimiter
from shared.delivery.mailbox import MailboxLimits, MailboxRules
from shared.delivery.mailbox.memory import MemoryMailboxLimits
from shared.delivery.transports import Transport
from shared.delivery.transports.graph import GraphTransport
from shared.mail.policy import MailPolicy
from shared.problems import FieldError, Problem
from shared.settings import DeliveryMode, SettingProblem, Settings, SettingsError, TransportKind, load_settings
from shared.sources import SourceRegistry

if TYPE_CHECKING:
    from shared.delivery.digests.flush import DigestFlusher
    from shared.delivery.digests.held import HeldNotifications
    from shared.delivery.queue_worker import QueueWorker
    from shared.mail.rendering import Renderer

# Enough pooled keep-alive connections for the worker's default 32 threads (PYTHON_THREADPOOL_THREAD_COUNT).
HTTP_POOL_SIZE = 32
# A send slot outlives the longest send (MAIL_SEND_DEADLINE_S) by this much, then frees itself.
SLOT_LEASE_MARGIN_S = 15.0


class ConfigurationInvalid(Problem):
    status = 503
    code = "configuration_invalid"
    title = "The bridge is not configured correctly"


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    policy: MailPolicy
    transport: Transport  # what the HTTP functions hand messages to: the queue, or the delivery transport
    rate_limiter: RateLimiter
    # Each sender mailbox's budget, pace and send slots: in Table storage for every instance, or
    # in this process without storage.
    mailbox_limits: MailboxLimits
    dispatcher: Dispatcher  # claim → admit → send → settle, for the HTTP endpoints
    queue_worker: QueueWorker | None  # set in queue mode: the same flow over the delivery transport
    holding: HeldNotifications | None  # with storage: notifications held for storm digests
    digest_flusher: DigestFlusher | None  # with storage: sends a route's digest when its flush comes
    # The webhook sources, each built on first use; Azure Monitor's Entra token check keeps its
    # signing-key cache as long as the process.
    sources: SourceRegistry

    @cached_property
    def renderer(self) -> Renderer:
        """The webhook mail renderer, built on the first hook (with custom templates, in build_runtime).

        /api/mail never renders: its cold start does not import what rendering needs (the
        Notification model, the routes, Jinja2's environment). Two threads racing for it (from
        Python 3.12 on, cached_property takes no lock) would each build one, and one is kept.
        """
        from shared.mail.rendering import Renderer

        return Renderer(self.settings.templates_dir)


def new_http_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=HTTP_POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def build_runtime(settings: Settings) -> Runtime:
    session = new_http_session()
    delivery_transport: Transport
    # The outbox (local runs only) and the storage clients are imported when the settings ask for
    # them: the outbox brings the email package's policies and header registry with it.
    if settings.delivery.transport is TransportKind.OUTBOX:
        from shared.delivery.transports.outbox import OutboxTransport

        delivery_transport = OutboxTransport(settings.delivery.outbox_dir)
    else:
        delivery_transport = GraphTransport(settings.graph, MsalTokenProvider(settings.credentials, session), session)
    rules = MailboxRules(
        recipients_per_day=settings.limits.daily_recipient_budget,
        digest_reserve=settings.limits.digest_reserve,
        messages_per_minute=settings.limits.mailbox_messages_per_minute,
        slot_lease_s=settings.graph.send_deadline_s + SLOT_LEASE_MARGIN_S,
        digests=settings.delivery.storage is not None,
    )
    idempotency: IdempotencyStore = MemoryIdempotencyStore()
    mailbox_limits: MailboxLimits = MemoryMailboxLimits(rules)
    holding = None
    transport: Transport = delivery_transport
    window_s = settings.limits.digest_window_s
    dispatcher = Dispatcher(idempotency, delivery_transport, limits=mailbox_limits)
    queue_worker = None
    digest_flusher = None
    if settings.delivery.storage is not None:
        from shared.azure.storage import StorageClients
        from shared.delivery.digests.flush import DigestFlusher
        from shared.delivery.digests.held import HeldNotifications
        from shared.delivery.idempotency.table import TableIdempotencyStore
        from shared.delivery.mailbox.table import TableMailboxLimits

        storage = StorageClients(settings.delivery.storage, session)
        idempotency = TableIdempotencyStore(storage)
        mailbox_limits = TableMailboxLimits(storage, rules)
        holding = HeldNotifications(storage)
        # What sends: the HTTP functions in direct mode, the queue worker in queue mode; digests
        # go through it too, with the same limits.
        sending = Dispatcher(
            idempotency, delivery_transport, limits=mailbox_limits, holding=holding, digest_window_s=window_s
        )
        dispatcher = sending
        digest_flusher = DigestFlusher(sending, holding, idempotency)
        if settings.delivery.mode is DeliveryMode.QUEUE:
            from shared.delivery.mail_queue import MailQueue
            from shared.delivery.queue_worker import QueueWorker
            from shared.delivery.transports.queue import QueueTransport

            mail_queue = MailQueue(storage, settings.delivery.queue_name)
            transport = QueueTransport(mail_queue)
            # The HTTP side only queues; the worker admits each message against the limits as it sends.
            dispatcher = Dispatcher(idempotency, transport)
            queue_worker = QueueWorker(sending, mail_queue)
    runtime = Runtime(
        settings=settings,
        policy=MailPolicy(settings.policy),
        transport=transport,
        rate_limiter=RateLimiter(settings.limits.rate_limit_per_minute, settings.limits.rate_limit_burst),
        mailbox_limits=mailbox_limits,
        dispatcher=dispatcher,
        queue_worker=queue_worker,
        holding=holding,
        digest_flusher=digest_flusher,
        sources=SourceRegistry(settings.hook_auth, settings.credentials, session),
    )
    if settings.templates_dir is not None:
        # Custom templates are compiled now so a syntax error shows in /api/health, not in an alert.
        custom = sorted({path.name.split(".")[0] for path in settings.templates_dir.glob("*.j2")})
        problems = runtime.renderer.check(custom)
        if problems:
            raise SettingsError([SettingProblem("MAIL_TEMPLATES_DIR", problem) for problem in problems])
    return runtime


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def current_runtime() -> Runtime:
    """The process's Runtime, or ConfigurationInvalid naming the settings to fix."""
    global _runtime
    if _runtime is not None:
        return _runtime
    with _runtime_lock:
        if _runtime is None:
            try:
                _runtime = build_runtime(load_settings(os.environ))
            except SettingsError as exc:
                raise ConfigurationInvalid(
                    "The bridge's app settings are invalid; nothing can be sent until they are fixed. See /api/health.",
                    errors=[FieldError(problem.setting, problem.message) for problem in exc.problems],
                ) from None
        return _runtime
