"""One HTTPS request at a time to the registry, and what can go wrong with it.

A connection that fails, an answer cut short and a 5xx all mean the same to the
tool: the registry cannot answer right now (it may be restarting), so they
raise ``Unreachable`` and the caller waits and tries again. A server
certificate that does not verify is never retried: it raises ``Untrusted``.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from client.errors import EnrollError, Untrusted, UsageError
from common.visible import make_visible

MAX_ANSWER_BYTES = 1024 * 1024  # a granted answer is a few KiB; anything huge is hostile
MAX_MESSAGE_CHARS = 300


class Unreachable(Exception):
    """No usable answer this time; the message says why in a few words."""


@dataclass(frozen=True)
class RegistryUrl:
    host: str
    port: int
    base_path: str  # "" unless the registry sits under a path prefix

    @classmethod
    def parse(cls, text: str) -> RegistryUrl:
        try:
            parts = urlsplit(text)
            port = parts.port or 443
        except ValueError as error:
            raise UsageError(f"--url {text!r} is not a URL ({error})") from None
        if parts.scheme != "https":
            raise UsageError("--url must start with https:// (the password and the key's request cross the network)")
        if not parts.hostname:
            raise UsageError(f"--url {text!r} names no host")
        return cls(parts.hostname, port, parts.path.rstrip("/"))


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> dict:
        """The body as a JSON object, or EnrollError: the registry's answers always are one."""
        try:
            document = json.loads(self.body)
        except (UnicodeDecodeError, ValueError):
            document = None
        if not isinstance(document, dict):
            raise EnrollError(f"the registry answered {self.status} with something that is not a JSON object")
        return document

    def message(self) -> str:
        """The registry's ``message``, safe to print on one line, or the bare status."""
        try:
            text = self.json().get("message")
        except EnrollError:
            text = None
        if not isinstance(text, str) or not text:
            return f"HTTP {self.status}"
        return make_visible(text[:MAX_MESSAGE_CHARS])


class Registry:
    """The registry at ``url``, spoken to through ``context`` (which decides what is trusted)."""

    def __init__(self, url: RegistryUrl, context: ssl.SSLContext):
        self.url = url
        self.context = context

    def get(self, path: str, timeout: float) -> Reply:
        return self._request("GET", path, None, {}, timeout)

    def post_json(self, path: str, document: dict, timeout: float, headers: dict | None = None) -> Reply:
        body = json.dumps(document).encode("utf-8")
        return self._request("POST", path, body, {"Content-Type": "application/json", **(headers or {})}, timeout)

    def _request(self, method: str, path: str, body: bytes | None, headers: dict, timeout: float) -> Reply:
        connection = http.client.HTTPSConnection(self.url.host, self.url.port, context=self.context, timeout=timeout)
        try:
            connection.request(method, self.url.base_path + path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read(MAX_ANSWER_BYTES + 1)
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        except ssl.SSLCertVerificationError as error:
            raise Untrusted(f"the registry's server certificate does not verify against the trusted CA "
                            f"({error.verify_message})") from None
        except (OSError, http.client.HTTPException) as error:
            raise Unreachable(_reason(error)) from None
        finally:
            connection.close()
        if len(reply.body) > MAX_ANSWER_BYTES:
            raise EnrollError(f"the registry's answer is larger than {MAX_ANSWER_BYTES} bytes")
        if reply.status >= 500:
            raise Unreachable(f"it answered {reply.status}: {reply.message()}")
        return reply


def _reason(error: Exception) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "no answer in time"
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return make_visible(text)
