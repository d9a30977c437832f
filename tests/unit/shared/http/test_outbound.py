"""The outbound address policy: what it refuses, and what the allow-list lets through."""

from __future__ import annotations

import ipaddress

import pytest

from shared.http.outbound import OutboundPolicy, RefusedAddress, forbidden_kind


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"), ("192.168.0.10", "private"), ("172.16.5.4", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata
    ("fe80::1", "link-local"), ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
    ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_forbidden_addresses(address: str, kind: str | None) -> None:
    assert forbidden_kind(ipaddress.ip_address(address)) == kind


async def test_loopback_and_metadata_are_refused_by_name_and_by_number() -> None:
    policy = OutboundPolicy()
    for url in ("http://localhost:8080/hook", "http://127.0.0.1/hook", "http://169.254.169.254/latest",
                "http://[::1]/hook", "http://0x7f000001/hook"):
        with pytest.raises(RefusedAddress):
            await policy.resolve(url)


async def test_not_http_or_with_credentials_is_refused() -> None:
    policy = OutboundPolicy()
    for url in ("ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/"):
        with pytest.raises(RefusedAddress):
            await policy.resolve(url)


async def test_the_allow_list_names_hosts_or_networks() -> None:
    by_network = await OutboundPolicy("127.0.0.0/8").resolve("http://127.0.0.1:9000/hook?x=1")
    assert by_network.url == "http://127.0.0.1:9000/hook?x=1"
    by_host = await OutboundPolicy("localhost").resolve("http://localhost:9000/hook")
    assert by_host.host_header == "localhost:9000" and by_host.hostname == "localhost"
    with pytest.raises(RefusedAddress):
        await OutboundPolicy("127.0.0.1").resolve("http://10.0.0.1/hook")
