"""Fixtures shared by the delivery tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from shared.runtime import Runtime
from tests.conftest import RuntimeFactory


@pytest.fixture
def queue_runtime(mi_runtime: RuntimeFactory, azurite: str) -> Callable[..., Runtime]:
    """A queue-mode Runtime on its own queue, so tests never see each other's messages."""

    def factory(**settings: str) -> Runtime:
        return mi_runtime(
            **{
                "MAIL_DELIVERY": "queue",
                "MAIL_QUEUE_NAME": f"q-{uuid.uuid4().hex[:12]}",
                "AzureWebJobsStorage": azurite,
                "MAIL_DEFAULT_TO": "oncall@contoso.com",
                **settings,
            }
        )

    return factory
