"""Fixtures that start the fake remote services (tests/fakes) and wire the bridge to them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.runtime import Runtime, build_runtime
from tests.fakes.entra import FakeEntra
from tests.fakes.graph import FakeGraph
from tests.fakes.identity import FakeManagedIdentity
from tests.helpers.app import settings_from
from tests.helpers.azurite import running_azurite
from tests.helpers.infra_tools import run_checkov

TENANT = "contoso-tenant-id"
CLIENT_ID = "mailhook-app-id"
CLIENT_SECRET = "client-secret-value-never-logged"

# Managed identity sources MSAL would pick before App Service's (msal/managed_identity.py, ``_obtain_token``).
_OTHER_IDENTITY_VARIABLES = ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT")


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph() as fake:
        yield fake


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch, graph: FakeGraph) -> Iterator[FakeManagedIdentity]:
    """The Functions managed identity endpoint; the tokens it issues are the ones Graph accepts."""
    for name in _OTHER_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with FakeManagedIdentity() as fake:
        for name, value in fake.environment.items():
            monkeypatch.setenv(name, value)
        fake.on_issue = graph.valid_tokens.add
        yield fake


@pytest.fixture
def entra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, graph: FakeGraph) -> Iterator[FakeEntra]:
    """Entra ID over TLS with a registered app; requests trusts its CA through REQUESTS_CA_BUNDLE."""
    with FakeEntra(cert_dir=tmp_path / "entra-tls") as fake:
        fake.register_client(TENANT, CLIENT_ID, secret=CLIENT_SECRET)
        fake.on_issue = graph.valid_tokens.add
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_bundle)
        yield fake


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    """A connection string to an Azurite started for this test session."""
    with running_azurite() as connection_string:
        yield connection_string


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    """One checkov run over infra/ for the whole session (infra and integration tests share it)."""
    return run_checkov()


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
def graph_runtime(graph: FakeGraph) -> RuntimeFactory:
    """Build a fresh Runtime (its own MSAL client and cache) sending to the fake Graph."""

    def factory(**settings: str) -> Runtime:
        return build_runtime(settings_from(**{"GRAPH_BASE_URL": graph.base_url, **settings}))

    return factory


@pytest.fixture
def mi_runtime(graph_runtime: RuntimeFactory, identity: FakeManagedIdentity) -> RuntimeFactory:
    """A Runtime that authenticates with the (fake) managed identity."""
    return graph_runtime
