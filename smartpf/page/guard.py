"""Who may use the page: the password (HTTP Basic, any user name), the CSRF token of every form, and the
Host header of a page served without a password (loopback only: a DNS-rebinding site cannot reach it).

The password comes from the environment variable ``SMARTPF_PAGE_PASSWORD`` only (never a command-line
argument, which other users can read in the process list, and never printed). Any address other than
loopback refuses to start without it."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import secrets
from urllib.parse import urlsplit

from smartpf.errors import SmartpfError

PASSWORD_ENV = "SMARTPF_PAGE_PASSWORD"
LOOPBACK_NAMES = ("localhost",)
REALM = 'Basic realm="smartpf", charset="UTF-8"'


class GuardError(SmartpfError):
    """The page cannot be served safely as asked: one line, exit code 2."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_password(environ: dict[str, str] | None = None) -> str | None:
    value = (os.environ if environ is None else environ).get(PASSWORD_ENV)
    return value if value else None


def check_listen(host: str, password: str | None) -> None:
    """Loopback by default; any other address (0.0.0.0, a LAN address) only with a password."""
    if not is_loopback(host) and password is None:
        raise GuardError(f"--host {host}: the page would be reachable from other machines and it can move money; "
                         f"set a password in the environment variable {PASSWORD_ENV} first (or serve on 127.0.0.1)")
    if password is not None and len(password) < 8:
        raise GuardError(f"{PASSWORD_ENV}: the password has {len(password)} characters; use at least 8")


class Guard:
    """The checks every request passes (``allowed``) and every form carries (``csrf``)."""

    def __init__(self, password: str | None) -> None:
        self.password = password
        self.csrf = secrets.token_urlsafe(32)  # one per server run: a page from an older run must be reloaded

    def authorised(self, header: str | None) -> bool:
        if self.password is None:
            return True
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _user, sep, given = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(sep) and secrets.compare_digest(given.encode(), self.password.encode())

    def host_ok(self, host_header: str | None) -> bool:
        """Without a password only a loopback name may be asked for (DNS rebinding)."""
        if self.password is not None:
            return True
        host = urlsplit(f"//{host_header or ''}").hostname or ""
        return is_loopback(host)

    def same_origin(self, origin: str | None, host_header: str | None) -> bool:
        """A form posted by a browser from another site (its Origin header) is refused, token or not."""
        if not origin or origin == "null":
            return origin is None
        return urlsplit(origin).netloc.lower() == (host_header or "").lower()

    def token_ok(self, token: str | None) -> bool:
        return bool(token) and secrets.compare_digest(str(token).encode(), self.csrf.encode())
