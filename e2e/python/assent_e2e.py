"""Shared helpers for the Python end-to-end suite.

REST setup (login, users, API keys, agents, messages) with ``requests`` and a thin wrapper
around the real ``python-socketio`` client that records every ``/ws`` event and lets tests
wait on them with timeouts.

Everything talks to a real, already running server whose base URL is in ``ASSENT_URL``
(``e2e/run.sh`` starts one and exports it).
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import requests
import socketio

NAMESPACE = "/ws"
EVENT_TIMEOUT = 5.0  # seconds to wait for an expected event or ack
QUIET = 0.5  # seconds to keep listening when asserting that something does NOT arrive
HTTP_TIMEOUT = 10.0
BAD_KEY = "hp_" + "0" * 48

ADMIN_EMAIL = os.environ.get("ASSENT_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("ASSENT_ADMIN_PASSWORD", "admin-password-1")


def base_url() -> str:
    url = os.environ.get("ASSENT_URL")
    if not url:
        raise RuntimeError("ASSENT_URL is not set: start a server and export it, or use e2e/run.sh")
    return url.rstrip("/")


def uid(prefix: str = "e2e") -> str:
    """A short unique name, so repeated runs against one data dir never collide."""
    return f"{prefix}-{int(time.time() * 1000):x}-{secrets.token_hex(4)}"


# ------------------------------------------------------------------------------------------
# REST
# ------------------------------------------------------------------------------------------


def api(
    method: str,
    path: str,
    *,
    token: str | None = None,
    api_key: str | None = None,
    json: Any = None,
    expect: int | tuple[int, ...] | None = None,
) -> requests.Response:
    """One HTTP call; ``token`` becomes a Bearer header, ``api_key`` becomes ``x-api-key``.

    With ``expect``, any other status fails with the response body in the message.
    """
    headers = {"accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if api_key:
        headers["x-api-key"] = api_key
    res = requests.request(method, base_url() + path, headers=headers, json=json, timeout=HTTP_TIMEOUT)
    if expect is not None:
        allowed = (expect,) if isinstance(expect, int) else expect
        assert res.status_code in allowed, (
            f"{method} {path} answered {res.status_code}, expected {expect}; body: {res.text[:500]}"
        )
    return res


def login(email: str, password: str) -> dict:
    """``POST /api/auth/login`` → ``{token, user}``."""
    res = api("POST", "/api/auth/login", json={"email": email, "password": password}, expect=200)
    body = res.json()
    assert isinstance(body.get("token"), str), f"login response has no token: {res.text}"
    assert body.get("user", {}).get("email") == email, f"login response user.email: {res.text}"
    return {"token": body["token"], "user": body["user"]}


def login_admin() -> dict:
    return login(ADMIN_EMAIL, ADMIN_PASSWORD)


def create_member(owner_token: str, display_name: str = "E2E Member") -> dict:
    """The owner creates a member (``POST /api/users``), who then logs in and replaces the
    owner-chosen password (Assent refuses other ``/api`` calls until they do)."""
    email = f"{uid('member')}@example.com"
    initial = "pw-" + secrets.token_hex(8)
    api(
        "POST",
        "/api/users",
        token=owner_token,
        json={"email": email, "displayName": display_name, "password": initial, "role": "member"},
        expect=201,
    )
    first = login(email, initial)
    password = "pw-" + secrets.token_hex(8)
    api(
        "POST",
        "/api/auth/change-password",
        token=first["token"],
        json={"currentPassword": initial, "newPassword": password},
        expect=200,
    )
    return {**login(email, password), "email": email, "password": password}


def create_api_key(token: str, label: str | None = None) -> str:
    """``POST /api/api-keys`` → the clear key ``hp_<48 hex>``."""
    res = api("POST", "/api/api-keys", token=token, json={"label": label or uid("key")}, expect=201)
    key = res.json().get("key", "")
    assert key.startswith("hp_") and len(key) == 51 and all(c in "0123456789abcdef" for c in key[3:]), (
        f"api key format: {res.text}"
    )
    return key


def create_agent(api_key: str, name: str | None = None) -> dict:
    """``POST /api/v1/agents`` → the agent; its id is the channel id."""
    name = name or uid("agent")
    res = api("POST", "/api/v1/agents", api_key=api_key, json={"name": name}, expect=201)
    agent = res.json()
    assert isinstance(agent.get("id"), str), f"agent has no id: {res.text}"
    assert agent.get("name") == name, f"agent name: {res.text}"
    return agent


def ws_ticket(token: str) -> str:
    """``POST /api/auth/ws-ticket`` → a short-lived ticket for ``auth.token``."""
    res = api("POST", "/api/auth/ws-ticket", token=token, expect=(200, 201))
    ticket = res.json().get("ticket")
    assert isinstance(ticket, str), f"ws-ticket has no ticket: {res.text}"
    return ticket


def post_agent_message(api_key: str, channel_id: str, text: str, **extra: Any) -> dict:
    """An agent posts into a channel (``POST /api/v1/messages``, x-api-key)."""
    body = {"channelId": channel_id, "text": text, **extra}
    return api("POST", "/api/v1/messages", api_key=api_key, json=body, expect=201).json()


def post_user_message(token: str, channel_id: str, text: str, **extra: Any) -> dict:
    """A human posts into a channel (``POST /api/messages``, bearer)."""
    body = {"channelId": channel_id, "text": text, **extra}
    return api("POST", "/api/messages", token=token, json=body, expect=201).json()


def status_ping(api_key: str, agent_id: str, status: str, message: str) -> None:
    api(
        "POST",
        "/api/v1/status/ping",
        api_key=api_key,
        json={"agentId": agent_id, "status": status, "message": message},
        expect=(200, 201),
    )


@dataclass
class Tenant:
    """A logged-in user with one API key and one agent (= channel)."""

    token: str
    user: dict
    api_key: str
    agent: dict

    @property
    def channel_id(self) -> str:
        return self.agent["id"]


def setup_tenant(session: dict | None = None) -> Tenant:
    """Without ``session``, the admin (owner) is used."""
    session = session or login_admin()
    api_key = create_api_key(session["token"])
    return Tenant(session["token"], session["user"], api_key, create_agent(api_key))


def setup_member_tenant(owner_token: str) -> Tenant:
    """A second, independent tenant: a fresh member user created by the owner."""
    return setup_tenant(create_member(owner_token))


def assert_message_shape(msg: dict, *, channel_id: str, sender_type: str, text: str, sender_id: str | None = None):
    """Common shape checks for a ``message:created`` payload / REST message."""
    assert isinstance(msg.get("id"), str), f"message id: {msg}"
    assert msg.get("channelId") == channel_id, f"message channelId: {msg}"
    assert msg.get("senderType") == sender_type, f"message senderType: {msg}"
    if sender_id is not None:
        assert msg.get("senderId") == sender_id, f"message senderId: {msg}"
    assert msg.get("text") == text, f"message text: {msg}"
    for key in ("review", "metadata"):
        assert key in msg and msg[key] is None, f"message {key} should be null: {msg}"
    assert msg.get("attachments") == [], f"message attachments: {msg}"
    assert isinstance(msg.get("createdAt"), str), f"message createdAt: {msg}"
    seq = msg.get("seq")
    assert isinstance(seq, int) and not isinstance(seq, bool) and seq > 0, f"message seq: {msg}"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------------------------------
# Socket.IO
# ------------------------------------------------------------------------------------------


class Socket:
    """A real ``socketio.Client`` on ``/ws`` that records every event it receives.

    The sync client runs each incoming packet's handler in its own thread, so arrival
    order as seen here is not guaranteed to be wire order: order-sensitive assertions
    use ``seq``.
    """

    def __init__(self, auth: dict | None):
        self.auth = auth
        self.sio = socketio.Client(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.connect_errors: list[Any] = []
        self._cond = threading.Condition()
        self.sio.on("*", self._on_any, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)

    # -- recording ---------------------------------------------------------------------

    def _on_any(self, event: str, *args: Any) -> None:
        with self._cond:
            self.events.append((event, args[0] if args else None))
            self._cond.notify_all()

    def _on_connect_error(self, data: Any = None) -> None:
        with self._cond:
            self.connect_errors.append(data)
            self._cond.notify_all()

    def of(self, event: str, pred: Callable[[Any], bool] = lambda _: True) -> list[Any]:
        with self._cond:
            return [d for (e, d) in self.events if e == event and pred(d)]

    def clear(self) -> None:
        with self._cond:
            self.events.clear()

    def wait_for_count(
        self, event: str, n: int, pred: Callable[[Any], bool] = lambda _: True, timeout: float = EVENT_TIMEOUT, what: str = ""
    ) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [d for (e, d) in self.events if e == event and pred(d)]
                if len(found) >= n:
                    return found[:n]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {n}x {event}"
                        f"{f' ({what})' if what else ''}; matched {len(found)}; received: {self.events!r:.2000}"
                    )
                self._cond.wait(left)

    def wait_for(self, event: str, pred: Callable[[Any], bool] = lambda _: True, timeout: float = EVENT_TIMEOUT, what: str = ""):
        return self.wait_for_count(event, 1, pred, timeout, what)[0]

    def expect_none(self, event: str, pred: Callable[[Any], bool] = lambda _: True, quiet: float = QUIET, what: str = ""):
        time.sleep(quiet)
        found = self.of(event, pred)
        assert not found, f"unexpected {event}{f' ({what})' if what else ''}: {found}"

    # -- connection --------------------------------------------------------------------

    def connect(self) -> "Socket":
        self.sio.connect(
            base_url(),
            namespaces=[NAMESPACE],
            auth=self.auth,
            transports=["websocket"],
            wait_timeout=EVENT_TIMEOUT,
        )
        return self

    def connect_expecting_error(self) -> Any:
        """Connects expecting a refusal; returns the ``connect_error`` payload."""
        connected = threading.Event()
        self.sio.on("connect", connected.set, namespace=NAMESPACE)
        try:
            self.sio.connect(
                base_url(),
                namespaces=[NAMESPACE],
                auth=self.auth,
                transports=["websocket"],
                wait_timeout=EVENT_TIMEOUT,
            )
        except socketio.exceptions.ConnectionError:
            pass
        else:
            raise AssertionError("socket connected although the server should have refused it")
        assert not connected.is_set(), "connect fired although the server refused the connection"
        with self._cond:
            assert self.connect_errors, "connection failed without a connect_error"
            return self.connect_errors[0]

    def disconnect(self) -> None:
        """A clean client-side disconnect; the same object may ``connect()`` again."""
        self.sio.disconnect()
        deadline = time.monotonic() + EVENT_TIMEOUT
        while self.sio.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not self.sio.connected, "client still connected after disconnect()"

    def close(self) -> None:
        try:
            if self.sio.eio.state != "disconnected":
                self.sio.disconnect()
        except Exception:  # best effort: the test has already been decided
            pass

    # -- emitting ----------------------------------------------------------------------

    def emit(self, event: str, data: Any = None) -> None:
        self.sio.emit(event, data, namespace=NAMESPACE)

    def call(self, event: str, data: Any = None, timeout: float = EVENT_TIMEOUT) -> Any:
        try:
            return self.sio.call(event, data, namespace=NAMESPACE, timeout=timeout)
        except socketio.exceptions.TimeoutError:
            raise AssertionError(f"no ack for {event} {data!r} within {timeout}s") from None

    def subscribe(self, payload: str | dict) -> Any:
        """``subscribe:channel`` with an ack; ``payload`` is a bare id or ``{channelId, lastSeq}``."""
        return self.call("subscribe:channel", payload)

    def subscribe_ok(self, channel_id: str, last_seq: int | None = None) -> dict:
        payload: dict = {"channelId": channel_id}
        if last_seq is not None:
            payload["lastSeq"] = last_seq
        ack = self.subscribe(payload)
        assert isinstance(ack, dict) and ack.get("ok") is True, f"subscribe:channel {payload} refused: {ack!r}"
        assert ack.get("channelId") == channel_id, f"ack channelId: {ack!r}"
        assert is_int(ack.get("lastSeq")), f"ack lastSeq is not an integer: {ack!r}"
        return ack


def assert_refused_ack(ack: Any, what: str) -> None:
    assert isinstance(ack, dict) and ack.get("ok") is False, f"{what}: expected {{ok: false}}, got {ack!r}"
    error = ack.get("error") or {}
    assert isinstance(error.get("code"), str), f"{what}: error.code: {ack!r}"
    assert isinstance(error.get("message"), str), f"{what}: error.message: {ack!r}"
