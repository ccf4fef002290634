"""The LangChain example end to end against a running Assent server.

A fake chat model from ``langchain-core`` drives :func:`agent.run_agent` through the four
Placet tools while a background thread plays the human through the dashboard's REST API.
The tools are the documented code, unchanged: they post with ``x-api-key`` and block on the
``review:responded`` event delivered to the documented ``python-socketio`` client.

    ASSENT_URL=http://127.0.0.1:8080 ASSENT_ADMIN_EMAIL=… ASSENT_ADMIN_PASSWORD=… \
        python -m pytest -q examples/langchain
"""

from __future__ import annotations

import os
import secrets
import threading
import time

import pytest
import requests
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, ToolMessage

import agent

ADMIN_EMAIL = os.environ.get("ASSENT_ADMIN_EMAIL", "admin@example.com")
ADMIN_PASSWORD = os.environ.get("ASSENT_ADMIN_PASSWORD", "admin-password-1")
HTTP_TIMEOUT = 10.0
REVIEW_TIMEOUT = 15.0  # how long each blocking tool waits for the human
HUMAN_TIMEOUT = 30.0  # how long the human keeps watching the inbox
POLL = 0.2

#: What the human answers, by review type.
ANSWERS = {
    "approval": {"selectedOption": "approve"},
    "selection": {"selectedIds": ["production"]},
    "form": {"name": "Ada", "email": "ada@example.com"},
}


def base_url() -> str:
    url = os.environ.get("ASSENT_URL")
    if not url:
        pytest.fail("ASSENT_URL is not set: start a server and export it, or use e2e/run.sh", pytrace=False)
    return url.rstrip("/")


def uid(prefix: str) -> str:
    return f"{prefix}-{int(time.time() * 1000):x}-{secrets.token_hex(4)}"


def api(method: str, path: str, *, token: str | None = None, api_key: str | None = None,
        json=None, expect: int | None = None) -> requests.Response:
    """One HTTP call; ``token`` → bearer, ``api_key`` → x-api-key; ``expect`` checks the status."""
    headers = {"accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if api_key:
        headers["x-api-key"] = api_key
    res = requests.request(method, base_url() + path, headers=headers, json=json, timeout=HTTP_TIMEOUT)
    if expect is not None:
        assert res.status_code == expect, (
            f"{method} {path} answered {res.status_code}, expected {expect}; body: {res.text[:500]}"
        )
    return res


@pytest.fixture
def setup():
    """The owner's session, a fresh API key and agent, and the example's socket connected to it."""
    login = api("POST", "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, expect=200)
    token = login.json()["token"]
    key = api("POST", "/api/api-keys", token=token, json={"label": uid("langchain-example")}, expect=201).json()["key"]
    channel = api("POST", "/api/v1/agents", api_key=key, json={"name": uid("langchain-agent")}, expect=201).json()["id"]

    agent.configure(url=base_url(), api_key=key, channel_id=channel, review_timeout=REVIEW_TIMEOUT)
    ack = agent.connect(timeout=10.0)
    assert ack.get("channelId") == channel, f"subscribe ack: {ack!r}"
    try:
        yield {"token": token, "api_key": key, "channel": channel}
    finally:
        agent.sio.disconnect()


class ToolCallingFakeModel(FakeMessagesListChatModel):
    """``FakeMessagesListChatModel`` answers its ``responses`` in order; this one also accepts
    ``bind_tools`` (it only records the tool names), like a real tool-calling model."""

    bound_tools: list[str] = []

    def bind_tools(self, tools, **kwargs):
        self.bound_tools = [t.name for t in tools]
        return self


def call(i: int, name: str, **args) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{i}", "type": "tool_call"}])


class Human(threading.Thread):
    """Watches the owner's review inbox for the channel and answers every pending review."""

    def __init__(self, token: str, channel: str):
        super().__init__(daemon=True, name="human")
        self.token = token
        self.channel = channel
        self.stop = threading.Event()
        self.answered: list[tuple[str, str]] = []  # (message id, review type)
        self.errors: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + HUMAN_TIMEOUT
        done: set[str] = set()
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                res = api("GET", f"/api/messages/reviews?status=pending&channel={self.channel}", token=self.token)
                if res.status_code != 200 or not isinstance(res.json(), list):
                    self.errors.append(f"GET /api/messages/reviews answered {res.status_code}: {res.text[:500]}")
                    return
                for msg in res.json():
                    if msg.get("id") in done or msg.get("channelId") != self.channel:
                        continue
                    done.add(msg["id"])
                    kind = (msg.get("review") or {}).get("type")
                    if kind not in ANSWERS:
                        self.errors.append(f"unexpected pending review: {msg}")
                        continue
                    time.sleep(POLL)  # a human takes a moment to read the question
                    answer = api("POST", f"/api/messages/{msg['id']}/respond", token=self.token,
                                 json={"response": ANSWERS[kind]})
                    if answer.status_code != 201:
                        self.errors.append(f"respond to {kind} {msg['id']} answered {answer.status_code}: {answer.text[:500]}")
                        continue
                    self.answered.append((msg["id"], kind))
                self.stop.wait(POLL)
        except Exception as err:  # reported by the test
            self.errors.append(f"human thread failed: {err!r}")


def test_agent_tools_round_trip_through_a_human(setup):
    model = ToolCallingFakeModel(responses=[
        call(1, "send_message", text="Starting"),
        call(2, "ask_approval", question="Deploy v2?"),
        call(3, "ask_selection", question="Which env?", options="Staging, Production"),
        call(4, "ask_form", question="Details", fields="Name, Email"),
        AIMessage(content="All done."),
    ])
    human = Human(setup["token"], setup["channel"])
    human.start()
    try:
        messages = agent.run_agent(model, "Please deploy v2.")
    finally:
        human.stop.set()
        human.join(timeout=HTTP_TIMEOUT + 1)

    assert not human.errors, f"the human ran into problems: {human.errors}"
    assert model.bound_tools == ["send_message", "ask_approval", "ask_selection", "ask_form"]
    assert isinstance(messages[-1], AIMessage) and not messages[-1].tool_calls
    assert messages[-1].content == "All done."

    # What the agent saw from each tool, in order.
    assert agent.tool_results(messages) == [
        ("send_message", "Message sent."),
        ("ask_approval", "approve"),
        ("ask_selection", "production"),
        ("ask_form", "name: Ada, email: ada@example.com"),
    ], f"tool results: {[m for m in messages if isinstance(m, ToolMessage)]}"
    assert [kind for _, kind in human.answered] == ["approval", "selection", "form"]

    # The channel holds the four agent posts, the three reviews completed with the answers.
    page = api("GET", f"/api/v1/messages?channel={setup['channel']}", api_key=setup["api_key"], expect=200).json()
    rows = page["data"] if isinstance(page, dict) else page
    posts = sorted((m for m in rows if m.get("senderType") == "agent"), key=lambda m: m["seq"])
    assert [m["text"] for m in posts] == ["Starting", "Deploy v2?", "Which env?", "Details"], f"channel: {rows}"
    assert posts[0]["review"] is None and posts[0]["status"] == "info", f"send_message post: {posts[0]}"
    for post, kind in zip(posts[1:], ["approval", "selection", "form"]):
        review = post.get("review") or {}
        assert review.get("type") == kind, f"{kind} post: {post}"
        assert review.get("status") == "completed", f"{kind} post: {post}"
        assert review.get("response") == ANSWERS[kind], f"{kind} post: {post}"
    assert posts[2]["review"]["payload"]["items"] == [
        {"id": "staging", "label": "Staging"},
        {"id": "production", "label": "Production"},
    ], f"selection post: {posts[2]}"
    assert [f["name"] for f in posts[3]["review"]["payload"]["fields"]] == ["name", "email"], f"form post: {posts[3]}"
