"""The secured local stack's material: a CA, server certificates for Kafka and Elasticsearch,
a client certificate (mTLS), and random passwords, made once under `<state>/tls` and
`<state>/secrets` (owner-readable only) and reused; certificates are remade when they are
within a month of expiring. Made with the `cryptography` library; the file-realm password hash
with `bcrypt`."""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

import bcrypt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Material:
    root: Path

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def ca(self) -> Path:
        return self.tls / "ca.pem"

    def cert(self, name: str) -> Path:
        return self.tls / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.tls / f"{name}.key"

    def secret(self, name: str) -> Path:
        return self.secrets / name

    def password_file(self, name: str) -> Path:
        """`secrets/<name>`, holding a random password made on first use."""
        path = self.secret(name)
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(24) + "\n")
        return path

    def password(self, name: str) -> str:
        return self.password_file(name).read_text().strip()

    def ensure(self) -> None:
        """The CA and the certificates: `kafka`, `elasticsearch` and `smtp` (the tests' mail
        relay) for 127.0.0.1 and localhost, `client` for mTLS."""
        self.tls.mkdir(parents=True, exist_ok=True)
        if not _valid(self.ca):
            new_ca = _new_key()
            _write_private(self.key("ca"), _pem_key(new_ca))
            self.ca.write_bytes(_ca_certificate(new_ca).public_bytes(serialization.Encoding.PEM))
            for stale in self.tls.glob("*.crt"):
                stale.unlink()
        loaded = serialization.load_pem_private_key(self.key("ca").read_bytes(), None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        ca_key = loaded
        ca_cert = x509.load_pem_x509_certificate(self.ca.read_bytes())
        for name, server in (("kafka", True), ("elasticsearch", True), ("smtp", True), ("client", False)):
            if not _valid(self.cert(name)):
                key = _new_key()
                _write_private(self.key(name), _pem_key(key))
                cert = _leaf_certificate(name, key, ca_key, ca_cert, server)
                self.cert(name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def bcrypt_hash(password: str) -> str:
    """For Elasticsearch's file realm, which reads the `$2a$` revision."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    return "$2a$" + hashed[4:]


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> str:
    # PKCS#8, unencrypted: what Kafka's PEM key store and Elasticsearch both read.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _valid(path: Path) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc - RENEW_BEFORE > datetime.datetime.now(datetime.UTC)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "newsflow local stack"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _ca_certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = _name("newsflow local CA")
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))


def _leaf_certificate(name: str, key: rsa.RSAPrivateKey, ca_key: rsa.RSAPrivateKey,
                      ca_cert: x509.Certificate, server: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (x509.CertificateBuilder().subject_name(_name(f"newsflow {name}"))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               # Brokers talk to each other over the same listener: they are servers and clients.
               .add_extension(x509.ExtendedKeyUsage(
                   [usage, ExtendedKeyUsageOID.CLIENT_AUTH] if server else [usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return builder.sign(ca_key, hashes.SHA256())
