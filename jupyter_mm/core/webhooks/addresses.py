"""Where a webhook may post: ``http(s)://`` URLs whose host resolves to public addresses only.

A target on a private, loopback, link-local, multicast or otherwise non-global address (cloud
metadata at 169.254.169.254, the database next door, the server itself) is refused unless an
administrator allows it: ``MM_WEBHOOK_ALLOW_PRIVATE=1`` (or the server's
``c.JupyterMM.webhooks_allow_private``). The check runs when a webhook is created or changed
(resolving its host) and again on every connection, against the peer the socket actually
reached (:mod:`jupyter_mm.loop.webhooks`), so DNS rebinding between the two gains nothing.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from ...errors import InvalidInput

ALLOW_PRIVATE_ENV = "MM_WEBHOOK_ALLOW_PRIVATE"
MAX_URL_LENGTH = 2048


def allow_private_default() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


def check_url(url: object) -> str:
    """A well-formed ``http(s)`` URL with a host (no credentials in it), else ``InvalidInput``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"a webhook url must be an http(s) URL, got {url!r}")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"a webhook url must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as e:
        raise InvalidInput(f"invalid webhook url {url!r}: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"a webhook url must be an http(s) URL with a host, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("a webhook url must not hold credentials; use the secret to sign")
    return url


def refuse_private(url: str, allow_private: bool | None = None) -> None:
    """Resolve the URL's host; ``InvalidInput`` if any address is not public (unless allowed)."""
    if allow_private if allow_private is not None else allow_private_default():
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as e:
        raise InvalidInput(f"the webhook url's host {host!r} does not resolve: {e}") from None
    for info in infos:
        address = str(info[4][0])
        if not is_public(address):
            raise InvalidInput(
                f"the webhook url's host {host!r} resolves to {address}, which is not a public "
                f"address; an administrator can allow private targets with {ALLOW_PRIVATE_ENV}=1"
            )
