"""Throwaway certificates for the fakes: a CA + server certificate, and client certificates.

MSAL only accepts ``https://`` authorities (``msal/authority.py`` ``canonicalize``), so the fake
Entra ID serves TLS with a server certificate signed by a CA that tests trust explicitly (as
``verify=`` or ``REQUESTS_CA_BUNDLE``). Client certificates are what an app registration's
"Certificates & secrets" would hold; the fake Entra verifies client assertions signed with them.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Valid from a day ago so a skewed clock or a slow test never sees "not yet valid".
_VALIDITY_SLACK = datetime.timedelta(days=1)
_VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class ServerTlsFiles:
    """PEM files for an HTTPS fake: trust ``ca_pem``; the server loads cert + key."""

    ca_pem: Path
    server_cert_pem: Path
    server_key_pem: Path


@dataclass(frozen=True)
class ClientCertificate:
    """A self-signed client certificate, as registered on an app registration.

    ``pem_path`` holds the private key (first) and the certificate (second), the layout MSAL's
    ``{"private_key": ..., "public_certificate": ...}`` credential reads from one PEM text.
    """

    pem_path: Path
    sha1_thumbprint: str  # hex, the "Thumbprint" column in the Azure portal
    certificate: x509.Certificate
    password: bytes | None

    @property
    def pem(self) -> str:
        """Key and certificate PEM text (the key encrypted when ``password`` is set)."""
        return self.pem_path.read_text()

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


def make_server_certificate(directory: Path) -> ServerTlsFiles:
    """Write a throwaway CA and a server certificate for ``127.0.0.1``/``localhost``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    # EC keys: generated in microseconds, unlike RSA, and every TLS client accepts them.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mailhook test CA")])
    ca_cert = (
        _certificate_builder(subject=ca_name, issuer=ca_name, public_key=ca_key.public_key(), now=now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _certificate_builder(
            subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
            issuer=ca_name,
            public_key=server_key.public_key(),
            now=now,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    files = ServerTlsFiles(
        ca_pem=directory / "ca.pem",
        server_cert_pem=directory / "server-cert.pem",
        server_key_pem=directory / "server-key.pem",
    )
    files.ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.server_cert_pem.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.server_key_pem.write_bytes(_private_key_pem(server_key, password=None))
    return files


def make_client_certificate(
    directory: Path, *, password: bytes | None = None, name: str = "mailhook-test-client"
) -> ClientCertificate:
    """Write a self-signed RSA client certificate and its key into one PEM file.

    RSA because Entra's client assertions are RS256 (SHA-1 ``x5t``) or PS256 (SHA-256 ``x5t#S256``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = _certificate_builder(
        subject=subject,
        issuer=subject,
        public_key=key.public_key(),
        now=datetime.datetime.now(datetime.UTC),
    ).sign(key, hashes.SHA256())

    pem_path = directory / f"{name}.pem"
    pem_path.write_bytes(
        _private_key_pem(key, password=password) + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return ClientCertificate(
        pem_path=pem_path,
        # SHA-1 is what the portal shows and what MSAL's "thumbprint" credential expects.
        sha1_thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
        certificate=certificate,
        password=password,
    )


def _certificate_builder(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _VALIDITY_SLACK)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _private_key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, *, password: bytes | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
