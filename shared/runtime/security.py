"""TLS material and credentials for the clients the factories build (shared/runtime/kafka.py and
shared/runtime/elasticsearch.py), and the one error a misconfigured connection becomes.

A wrong password, an untrusted CA or a missing key is not an outage to wait out: it will not
heal by retrying. `ConnectionProblem` carries one line naming what failed; the launchers
(`shared/runtime/preflight.py`) print it and exit, so a worker never hangs or retries forever
on a configuration mistake. Messages never contain a secret.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import socket
import ssl
from pathlib import Path
from urllib.parse import urlparse

from shared.settings import Settings

# A process that cannot connect with its configuration exits with this; supervisors do not
# restart it (a restart would fail the same way). An unreachable server exits 1: that may heal.
EXIT_CONNECTION = 4


class ConnectionProblem(RuntimeError):
    """A connection that fails because of its configuration; the message is one line."""

    exit_code = EXIT_CONNECTION


class Unreachable(ConnectionProblem):
    """No server answered in time: perhaps still starting, or away; worth a restart."""

    exit_code = 1


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """For the SSL and SASL_SSL protocols: the CA to trust (the system's when none is named),
    a client certificate and key for mTLS, hostname verification unless turned off."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    password = settings.kafka_ssl_key_password
    try:
        return _tls_context(settings.kafka_ssl_ca_file, settings.kafka_ssl_cert_file,
                            settings.kafka_ssl_key_file, password.get_secret_value() if password else None,
                            settings.kafka_ssl_verify_hostname)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectionProblem(f"Kafka TLS files could not be loaded "
                                f"(NEWSFLOW_KAFKA_SSL_CA_FILE / _CERT_FILE / _KEY_FILE): {_reason(exc)}"
                                ) from None


@functools.lru_cache(maxsize=16)
def _tls_context(ca_file: Path | None, cert_file: Path | None, key_file: Path | None,
                 key_password: str | None, check_hostname: bool = True) -> ssl.SSLContext:
    """Built once per process and configuration: a client is made for every health check and
    lag reading, and loading the files each time would be work repeated for nothing."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None, key_password)
    context.check_hostname = check_hostname
    return context


def kafka_security_options(settings: Settings) -> dict[str, object]:
    """The security half of every aiokafka client's options."""
    options: dict[str, object] = {"security_protocol": settings.kafka_security_protocol}
    context = kafka_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL_"):
        if not settings.kafka_sasl_username or settings.kafka_sasl_password is None:
            raise ConnectionProblem(
                f"Kafka {settings.kafka_security_protocol} needs NEWSFLOW_KAFKA_SASL_USERNAME and "
                "NEWSFLOW_KAFKA_SASL_PASSWORD (or NEWSFLOW_KAFKA_SASL_PASSWORD_FILE)")
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                       sasl_plain_username=settings.kafka_sasl_username,
                       sasl_plain_password=settings.kafka_sasl_password.get_secret_value())
    return options


def elasticsearch_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """For https:// URLs: the CA file's CA, or the certificate a fingerprint pins (else None:
    certifi's CAs, by the client's default)."""
    if settings.elasticsearch_ca_file:
        try:
            return _tls_context(settings.elasticsearch_ca_file, None, None, None)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionProblem(f"NEWSFLOW_ELASTICSEARCH_CA_FILE could not be loaded: {_reason(exc)}"
                                    ) from None
    if settings.elasticsearch_ca_fingerprint:
        return pinned_context(settings.elasticsearch_url, settings.elasticsearch_ca_fingerprint)
    return None


_pinned: dict[tuple[str, str], str] = {}  # (url, fingerprint) → the pinned certificate, PEM


def pinned_context(url: str, fingerprint: str, timeout: float = 5.0) -> ssl.SSLContext:
    """Trust on first use, pinned: the node's certificate chain is read once without checking
    it, the certificate whose SHA-256 is `fingerprint` (the CA's, as Elasticsearch prints it,
    or the node's own) becomes the one trust anchor, and every connection is then verified
    against it as with a CA file, hostname included. aiohttp can pin only the node's own
    certificate, and Python 3.11 reads a peer's chain only through `_sslobj`."""
    wanted = fingerprint.replace(":", "").strip().lower()
    key = (url, wanted)
    if key not in _pinned:
        parsed = urlparse(url)
        host, port = parsed.hostname or "localhost", parsed.port or 443
        probe = ssl.create_default_context()
        probe.check_hostname, probe.verify_mode = False, ssl.CERT_NONE
        try:
            with socket.create_connection((host, port), timeout=timeout) as raw, \
                    probe.wrap_socket(raw, server_hostname=host) as tls:
                chain = tls._sslobj.get_unverified_chain() or []  # type: ignore[attr-defined]
        except OSError as exc:
            raise Unreachable(f"Elasticsearch at {url} did not answer to read its certificates: "
                              f"{_reason(exc)}") from None
        found = {hashlib.sha256(cert.public_bytes(ssl._ssl.ENCODING_DER)).hexdigest():  # type: ignore[attr-defined]
                 cert.public_bytes(ssl._ssl.ENCODING_PEM) for cert in chain}  # type: ignore[attr-defined]
        if wanted not in found:
            raise ConnectionProblem(f"Elasticsearch at {url}: no certificate it sends has the SHA-256 "
                                    "fingerprint in NEWSFLOW_ELASTICSEARCH_CA_FINGERPRINT")
        _pinned[key] = found[wanted]
    context = ssl.create_default_context(cadata=_pinned[key])
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the anchor may be the node's own
    return context


def elasticsearch_auth_headers(settings: Settings) -> dict[str, str]:
    """For plain HTTP clients (benches, the local stack's probes); the official client takes the
    same credentials as arguments."""
    if settings.elasticsearch_api_key is not None:
        return {"Authorization": f"ApiKey {settings.elasticsearch_api_key.get_secret_value()}"}
    if settings.elasticsearch_username and settings.elasticsearch_password is not None:
        pair = f"{settings.elasticsearch_username}:{settings.elasticsearch_password.get_secret_value()}"
        return {"Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}"}
    return {}


def _reason(exc: BaseException) -> str:
    """An exception as a short phrase: the SSL library's reason, or the OS error's text."""
    exc = getattr(exc, "certificate_error", exc)  # aiohttp wraps the SSL library's error
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({getattr(exc, 'verify_message', None) or exc})"
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}{f': {exc.filename}' if exc.filename else ''}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def ssl_error_in(exc: BaseException) -> ssl.SSLError | None:
    """The SSL library's error among the exception and its causes (a refused handshake inside
    a connection error), if there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def reason(exc: BaseException) -> str:
    """The most telling cause of an exception (a certificate error inside a connection error),
    as one line."""
    return _reason(ssl_error_in(exc) or exc)
