from pathlib import Path

import pytest

from shared.settings import SettingsError, TransportKind, load_settings
from shared.settings.graph import AuthMode
from tests.helpers.app import SENDER, settings_from


def problems_of(**values: str) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(values)
    return {p.setting: p.message for p in caught.value.problems}


def test_defaults_are_graph_global_managed_identity() -> None:
    settings = settings_from()
    assert settings.delivery.transport is TransportKind.GRAPH
    assert settings.credentials.auth_mode is AuthMode.MANAGED_IDENTITY
    assert settings.graph.cloud.name == "global"
    assert settings.graph.base_url == "https://graph.microsoft.com"
    assert settings.credentials.audience == "https://graph.microsoft.com"
    assert settings.credentials.authority_host == "https://login.microsoftonline.com"
    assert settings.policy.allowed_senders == {SENDER}
    assert settings.graph.send_deadline_s == 25.0


@pytest.mark.parametrize(
    ("cloud", "graph_root", "authority_host"),
    [
        ("usgov", "https://graph.microsoft.us", "https://login.microsoftonline.us"),
        ("usgovdod", "https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
        ("china", "https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
        ("GLOBAL", "https://graph.microsoft.com", "https://login.microsoftonline.com"),
    ],
)
def test_national_clouds_set_graph_root_authority_and_audience(
    cloud: str, graph_root: str, authority_host: str
) -> None:
    settings = settings_from(GRAPH_CLOUD=cloud)
    assert (settings.graph.base_url, settings.credentials.authority_host, settings.credentials.audience) == (
        graph_root,
        authority_host,
        graph_root,
    )


def test_base_url_overrides_never_change_the_token_audience() -> None:
    settings = settings_from(
        GRAPH_CLOUD="usgov", GRAPH_BASE_URL="http://127.0.0.1:8080/", AZURE_AUTHORITY_HOST="https://127.0.0.1:9443"
    )
    assert settings.graph.base_url == "http://127.0.0.1:8080"
    assert settings.credentials.authority_host == "https://127.0.0.1:9443"
    assert settings.credentials.audience == "https://graph.microsoft.us"


@pytest.mark.parametrize("url", ["http://graph.contoso.com", "http://10.0.0.5:8080", "ftp://graph.microsoft.com"])
def test_plain_http_is_refused_except_on_loopback(url: str) -> None:
    assert "GRAPH_BASE_URL" in problems_of(MAIL_SENDER=SENDER, GRAPH_BASE_URL=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:1234", "http://localhost:1", "http://[::1]:80", "http://127.8.0.1"])
def test_plain_http_to_loopback_is_allowed_for_graph(url: str) -> None:
    assert settings_from(GRAPH_BASE_URL=url).graph.base_url == url


def test_authority_must_be_https_even_on_loopback() -> None:
    assert "AZURE_AUTHORITY_HOST" in problems_of(MAIL_SENDER=SENDER, AZURE_AUTHORITY_HOST="http://127.0.0.1:1")


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        MAIL_TRANSPORT="smtp",
        GRAPH_CLOUD="mars",
        MAIL_ALLOWED_SENDERS="ok@contoso.com,not-an-address",
        MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com,bad domain",
        MAIL_SEND_DEADLINE_S="soon",
    )
    assert set(problems) == {
        "MAIL_TRANSPORT",
        "MAIL_SENDER",
        "GRAPH_CLOUD",
        "MAIL_ALLOWED_SENDERS",
        "MAIL_ALLOWED_RECIPIENT_DOMAINS",
        "MAIL_SEND_DEADLINE_S",
    }
    assert "required" in problems["MAIL_SENDER"]


def test_default_recipients_must_be_inside_allowed_domains() -> None:
    problems = problems_of(
        MAIL_SENDER=SENDER,
        MAIL_DEFAULT_TO="ops@contoso.com,x@evil.example",
        MAIL_ALLOWED_RECIPIENT_DOMAINS="contoso.com",
    )
    assert "x@evil.example" in problems["MAIL_DEFAULT_TO"]


def test_recipient_domains_are_exact_or_wildcard_subdomains() -> None:
    settings = settings_from(MAIL_ALLOWED_RECIPIENT_DOMAINS="Contoso.com, *.fabrikam.com")
    assert settings.policy.recipient_domain_allowed("a@CONTOSO.com")
    assert not settings.policy.recipient_domain_allowed("a@eu.contoso.com")
    assert settings.policy.recipient_domain_allowed("a@eu.fabrikam.com")
    assert not settings.policy.recipient_domain_allowed("a@fabrikam.com")
    assert not settings.policy.recipient_domain_allowed("a@notfabrikam.com")
    assert not settings.policy.recipient_domain_allowed("a@contoso.com.evil.example")


def test_secret_selects_client_secret_and_needs_tenant_and_client() -> None:
    problems = problems_of(MAIL_SENDER=SENDER, AZURE_CLIENT_SECRET="s3cr3t-value")
    assert set(problems) == {"AZURE_CLIENT_ID", "AZURE_TENANT_ID"}
    assert all("s3cr3t-value" not in message for message in problems.values())
    settings = settings_from(AZURE_CLIENT_SECRET="s3cr3t-value", AZURE_CLIENT_ID="app", AZURE_TENANT_ID="tenant")
    assert settings.credentials.auth_mode is AuthMode.CLIENT_SECRET
    assert "s3cr3t-value" not in repr(settings)


def test_a_blank_client_secret_is_an_error_not_the_managed_identity() -> None:
    # An unresolved Key Vault reference or an empty pipeline variable must not swap credentials quietly.
    problems = problems_of(MAIL_SENDER=SENDER, AZURE_CLIENT_SECRET="  ", AZURE_CLIENT_ID="app", AZURE_TENANT_ID="t")
    assert set(problems) == {"AZURE_CLIENT_SECRET"}


def test_multi_tenant_authorities_are_refused() -> None:
    problems = problems_of(
        MAIL_SENDER=SENDER, AZURE_CLIENT_SECRET="x", AZURE_CLIENT_ID="app", AZURE_TENANT_ID="organizations"
    )
    assert "AZURE_TENANT_ID" in problems


def test_certificate_path_must_exist_and_excludes_a_secret(tmp_path: Path) -> None:
    missing = problems_of(
        MAIL_SENDER=SENDER,
        AZURE_CLIENT_CERTIFICATE_PATH=str(tmp_path / "nope.pem"),
        AZURE_CLIENT_ID="a",
        AZURE_TENANT_ID="t",
    )
    assert "no file" in missing["AZURE_CLIENT_CERTIFICATE_PATH"]
    certificate = tmp_path / "cert.pem"
    certificate.write_text("pem")
    both = problems_of(
        MAIL_SENDER=SENDER,
        AZURE_CLIENT_CERTIFICATE_PATH=str(certificate),
        AZURE_CLIENT_SECRET="x",
        AZURE_CLIENT_ID="a",
        AZURE_TENANT_ID="t",
    )
    assert "not both" in both["AZURE_CLIENT_CERTIFICATE_PATH"]
    settings = settings_from(AZURE_CLIENT_CERTIFICATE_PATH=str(certificate), AZURE_CLIENT_ID="a", AZURE_TENANT_ID="t")
    assert settings.credentials.auth_mode is AuthMode.CLIENT_CERTIFICATE


def test_user_assigned_identity_is_managed_identity_with_a_client_id() -> None:
    settings = settings_from(AZURE_CLIENT_ID="uami-client-id")
    assert settings.credentials.auth_mode is AuthMode.MANAGED_IDENTITY
    assert settings.credentials.client_id == "uami-client-id"


@pytest.mark.parametrize("deadline", ["0", "-1", "201", "nan", "inf"])
def test_send_deadline_must_be_a_sane_number(deadline: str) -> None:
    assert "MAIL_SEND_DEADLINE_S" in problems_of(MAIL_SENDER=SENDER, MAIL_SEND_DEADLINE_S=deadline)


def test_an_unresolved_key_vault_reference_is_a_problem_not_a_secret() -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/hook-bearer-token)"
    problems = problems_of(MAIL_SENDER=SENDER, HOOK_BEARER_TOKEN=reference)
    assert "Key Vault reference did not resolve" in problems["HOOK_BEARER_TOKEN"]


@pytest.mark.parametrize(
    "setting",
    [
        "HOOK_BEARER_TOKEN",
        "GITHUB_WEBHOOK_SECRET",
        "GRAFANA_WEBHOOK_SECRET",
        "PAGERDUTY_WEBHOOK_SECRET",
        "SENTRY_CLIENT_SECRET",
    ],
)
@pytest.mark.parametrize("blank", ["", " ", "\t\n"])
def test_a_blank_secret_is_a_problem_not_a_check_turned_off(setting: str, blank: str) -> None:
    # What a Key Vault reference to an empty secret resolves to, or an empty variable in a pipeline.
    problems = problems_of(MAIL_SENDER=SENDER, **{setting: blank})
    assert "blank" in problems[setting]


def test_an_absent_secret_turns_its_check_off() -> None:
    hook_auth = settings_from().hook_auth
    assert (hook_auth.bearer_token, hook_auth.github_secret, hook_auth.grafana_secret) == (None, None, None)


def test_graph_base_url_may_be_written_with_its_version() -> None:
    for written in (
        "https://graph.microsoft.us/v1.0",
        "https://graph.microsoft.us/V1.0/",
        "https://graph.microsoft.us",
    ):
        assert settings_from(GRAPH_BASE_URL=written).graph.base_url == "https://graph.microsoft.us", written
    assert set(problems_of(MAIL_SENDER=SENDER, GRAPH_BASE_URL="https://graph.microsoft.com/beta")) == {"GRAPH_BASE_URL"}
