"""Client addresses behind trusted proxies."""

from __future__ import annotations

from datadesk.auth.proxies import TrustedProxies


def test_forwarded_for_is_honoured_only_from_a_trusted_proxy() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "::1"])
    assert proxies.client_address("10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert proxies.client_address("198.51.100.4", "203.0.113.9") == "198.51.100.4"
    assert proxies.client_address("::1", "203.0.113.9, 10.0.0.5") == "203.0.113.9"
    # A client cannot hide behind a forged first hop: the right-most untrusted hop wins.
    assert proxies.client_address("10.1.2.3", "1.2.3.4, 203.0.113.9") == "203.0.113.9"
    assert proxies.client_address(None, None) == "unknown"


def test_nothing_is_trusted_by_default() -> None:
    proxies = TrustedProxies(())
    assert not proxies.is_trusted("127.0.0.1")
    assert proxies.client_address("127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert not TrustedProxies(["127.0.0.1"]).is_trusted("not-an-ip")


def test_forwarded_scheme_only_from_a_trusted_proxy() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.scheme("10.1.2.3", "https", "http") == "https"
    assert proxies.scheme("10.1.2.3", "HTTPS, http", "http") == "https"
    assert proxies.scheme("198.51.100.4", "https", "http") == "http"
    assert proxies.scheme("10.1.2.3", "gopher", "http") == "http"
    assert proxies.scheme("10.1.2.3", None, "https") == "https"
