"""Placet's LangChain integration, run against Assent.

A LangChain agent that talks to a human only through Assent: it sends messages, asks for
approvals, selections and forms, and blocks on the human's answer, which arrives as a
``review:responded`` event over Socket.IO.

The message helper, the four tools, ``wait_review`` and the WebSocket handlers are Placet's
documented code unchanged (only ``wait_review``'s default timeout is configurable, so tests can
bound it). What differs from the documentation:

* configuration comes from the environment (``ASSENT_URL``, ``ASSENT_API_KEY``,
  ``ASSENT_CHANNEL_ID``) or from :func:`configure`;
* instead of ``langchain``'s ``AgentExecutor`` (with ``ChatOpenAI``), :func:`run_agent` is a
  small tool-calling loop on ``langchain-core`` alone, and the chat model is a parameter:
  any chat model that supports ``bind_tools`` works (``ChatOpenAI``, ``ChatAnthropic``,
  a local model, or a fake one in tests);
* after connecting, the agent subscribes to its channel (``subscribe:channel``) and waits for
  the server's acknowledgement.

Run it as a chat agent (needs a model; ``pip install langchain-openai`` and ``OPENAI_API_KEY``
for the default)::

    ASSENT_URL=http://127.0.0.1:8080 ASSENT_API_KEY=hp_… ASSENT_CHANNEL_ID=… python agent.py

Every message a human writes in the agent's channel is then handled by the model.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Sequence

import requests
import socketio
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

PLACET_URL = os.environ.get("ASSENT_URL", "http://127.0.0.1:8080").rstrip("/")
API_KEY = os.environ.get("ASSENT_API_KEY", "")
CHANNEL_ID = os.environ.get("ASSENT_CHANNEL_ID", "")

#: How long a blocking tool waits for the human (seconds); Placet's documented value is 5 min.
REVIEW_TIMEOUT = float(os.environ.get("ASSENT_REVIEW_TIMEOUT", "300"))

headers = {
    "x-api-key": API_KEY,
    "Content-Type": "application/json",
}


def configure(url: str | None = None, api_key: str | None = None, channel_id: str | None = None,
              review_timeout: float | None = None) -> None:
    """Point the helper and the tools at a server, key and channel (overrides the environment)."""
    global PLACET_URL, API_KEY, CHANNEL_ID, REVIEW_TIMEOUT
    if url is not None:
        PLACET_URL = url.rstrip("/")
    if api_key is not None:
        API_KEY = api_key
        headers["x-api-key"] = api_key
    if channel_id is not None:
        CHANNEL_ID = channel_id
    if review_timeout is not None:
        REVIEW_TIMEOUT = review_timeout


# --------------------------------------------------------------------------------------------
# Message helper (Placet docs, unchanged)
# --------------------------------------------------------------------------------------------


def post_message(**kwargs):
    resp = requests.post(
        f"{PLACET_URL}/api/v1/messages",
        headers=headers,
        json={"channelId": CHANNEL_ID, **kwargs},
    )
    resp.raise_for_status()
    return resp.json()


# --------------------------------------------------------------------------------------------
# Tools (Placet docs, unchanged)
# --------------------------------------------------------------------------------------------


@tool
def send_message(text: str, status: str = "info") -> str:
    """Send a plain message to the user. No response expected.

    Args:
        text: Markdown-formatted message text.
        status: One of 'info', 'success', 'warning', 'error'.
    """
    post_message(text=text, status=status)
    return "Message sent."


@tool
def ask_approval(question: str) -> str:
    """Present the user with an Approve / Reject decision.

    Blocks until the user clicks a button (up to 5 minutes).
    Returns: 'approve', 'reject', or 'timeout'.
    """
    msg = post_message(
        text=question,
        status="warning",
        review={
            "type": "approval",
            "payload": {
                "options": [
                    {"id": "approve", "label": "Approve", "style": "primary"},
                    {"id": "reject", "label": "Reject", "style": "danger"},
                ],
            },
        },
    )
    data = wait_review(msg["id"])
    if data:
        return data["review"]["response"]["selectedOption"]
    return "timeout"


@tool
def ask_selection(question: str, options: str) -> str:
    """Present multiple options for the user to choose from.

    Args:
        question: The question to display above the options.
        options: Comma-separated list, e.g. "Option A, Option B, Option C"

    Returns: The id of the selected option, or 'timeout'.
    """
    items = [
        {"id": o.strip().lower().replace(" ", "_"), "label": o.strip()}
        for o in options.split(",")
    ]
    msg = post_message(
        text=question,
        status="info",
        review={"type": "selection", "payload": {"mode": "single", "items": items}},
    )
    data = wait_review(msg["id"])
    if data:
        ids = data["review"]["response"].get("selectedIds", [])
        return ids[0] if ids else "unknown"
    return "timeout"


@tool
def ask_form(question: str, fields: str) -> str:
    """Ask the user to fill in a form with one or more fields.

    Args:
        question: Instruction text displayed above the form.
        fields: Comma-separated field names, e.g. "Name, Email, Environment"

    Returns: The filled values as "field: value" pairs, or 'timeout'.
    """
    field_list = [
        {"name": f.strip().lower().replace(" ", "_"), "type": "text",
         "label": f.strip(), "required": True}
        for f in fields.split(",")
    ]
    msg = post_message(
        text=question,
        status="info",
        review={"type": "form", "payload": {"fields": field_list, "submitLabel": "Submit"}},
    )
    data = wait_review(msg["id"])
    if data:
        resp = data["review"]["response"]
        return ", ".join(f"{k}: {v}" for k, v in resp.items() if k != "selectedOption")
    return "timeout"


TOOLS = [send_message, ask_approval, ask_selection, ask_form]

# --------------------------------------------------------------------------------------------
# Waiting for reviews via WebSocket (Placet docs)
# --------------------------------------------------------------------------------------------

_review_events = {}  # message_id → threading.Event
_review_results = {}  # message_id → response data


def wait_review(message_id, timeout=None):
    """Block until the WebSocket delivers review:responded for this message."""
    if timeout is None:
        timeout = REVIEW_TIMEOUT
    event = threading.Event()
    _review_events[message_id] = event
    event.wait(timeout=timeout)
    _review_events.pop(message_id, None)
    return _review_results.pop(message_id, None)


sio = socketio.Client(reconnection=False)


@sio.on("review:responded", namespace="/ws")
def on_review(data):
    msg_id = data.get("id")
    if msg_id and msg_id in _review_events:
        _review_results[msg_id] = data
        _review_events[msg_id].set()


# --------------------------------------------------------------------------------------------
# Agent: a minimal tool-calling loop on langchain-core (replaces AgentExecutor)
# --------------------------------------------------------------------------------------------

SYSTEM_PROMPT = (
    "You are a helpful AI assistant communicating through Placet.\n\n"
    "IMPORTANT: You MUST use the provided tools to communicate. "
    "NEVER reply with plain text — the user cannot see it.\n\n"
    "Guidelines:\n"
    "- Follow-up questions with fixed choices → use ask_selection.\n"
    "- Need free-text input → use ask_form.\n"
    "- Yes/no or go/no-go decision → use ask_approval.\n"
    "- Everything else (replies, explanations) → use send_message.\n"
    "- If any tool returns 'timeout', do NOT retry. "
    "Send a message that you're stopping because the user didn't respond in time."
)


def run_agent(model: Any, user_input: str, chat_history: Sequence[BaseMessage] = (),
              tools: Sequence[Any] = TOOLS, max_steps: int = 25) -> list[BaseMessage]:
    """Run ``model`` with ``tools`` until it answers without tool calls.

    ``model`` is any LangChain chat model supporting ``bind_tools``. Each turn, every entry of
    the reply's ``tool_calls`` is executed with the matching tool and its result is appended as
    a ``ToolMessage``; the loop ends at the first ``AIMessage`` without tool calls. Returns the
    whole conversation (system prompt, history, input, AI messages and tool results).
    """
    by_name = {t.name: t for t in tools}
    llm = model.bind_tools(list(tools))
    messages: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT), *chat_history, HumanMessage(user_input)]
    for _ in range(max_steps):
        ai = llm.invoke(messages)
        messages.append(ai)
        if not isinstance(ai, AIMessage) or not ai.tool_calls:
            return messages
        for call in ai.tool_calls:
            chosen = by_name.get(call["name"])
            if chosen is None:
                messages.append(ToolMessage(content=f"Unknown tool {call['name']!r}.", tool_call_id=call["id"],
                                            name=call["name"], status="error"))
                continue
            try:
                result = chosen.invoke(call["args"])
                messages.append(ToolMessage(content=str(result), tool_call_id=call["id"], name=call["name"]))
            except Exception as err:  # report the failure to the model, as AgentExecutor does
                messages.append(ToolMessage(content=f"Error: {err}", tool_call_id=call["id"],
                                            name=call["name"], status="error"))
    raise RuntimeError(f"the agent did not finish within {max_steps} model turns")


def tool_results(messages: Sequence[BaseMessage]) -> list[tuple[str, str]]:
    """``(tool name, result)`` for every tool call in a conversation, in order."""
    return [(m.name or "", m.content) for m in messages if isinstance(m, ToolMessage)]


# --------------------------------------------------------------------------------------------
# WebSocket connection (Placet docs) and the chat loop
# --------------------------------------------------------------------------------------------

model = None  # the chat model used for incoming user messages; set by main() or by the caller
chat_history: list[BaseMessage] = []


def handle_user_message(text):
    """Process a user message through the LangChain agent."""
    messages = run_agent(model, text, chat_history)
    chat_history.extend([HumanMessage(content=text), messages[-1]])


seen = set()


@sio.on("message:created", namespace="/ws")
def on_message(data):
    if model is None:  # not running as a chat agent (e.g. driven directly by a test)
        return
    if data.get("id") in seen or data.get("senderType") != "user":
        return
    seen.add(data["id"])
    text = (data.get("text") or "").strip()
    if text:
        handle_user_message(text)


def connect(timeout: float = 10.0) -> dict:
    """Connect to ``/ws`` with the API key and subscribe to the agent's channel.

    Returns the subscription acknowledgement ``{ok: true, channelId, lastSeq}``.
    """
    sio.connect(PLACET_URL, namespaces=["/ws"],
                auth={"apiKey": API_KEY}, transports=["websocket"], wait_timeout=timeout)
    ack = sio.call("subscribe:channel", CHANNEL_ID, namespace="/ws", timeout=timeout)
    if not (isinstance(ack, dict) and ack.get("ok") is True):
        sio.disconnect()
        raise RuntimeError(f"subscribe:channel {CHANNEL_ID!r} refused: {ack!r}")
    return ack


def default_model():
    """The documentation's model: ``ChatOpenAI`` (needs ``langchain-openai`` and ``OPENAI_API_KEY``)."""
    try:
        from langchain_openai import ChatOpenAI  # optional, not in requirements.txt
    except ImportError:
        sys.exit("agent.py needs a chat model: `pip install langchain-openai` and set OPENAI_API_KEY, "
                 "or import this module and call run_agent() with your own model.")
    return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-5.2-instant"))


def main() -> None:
    global model
    if not (API_KEY and CHANNEL_ID):
        sys.exit("Set ASSENT_API_KEY and ASSENT_CHANNEL_ID (and ASSENT_URL if not http://127.0.0.1:8080).")
    model = default_model()
    connect()
    print(f"Connected to {PLACET_URL}, listening on channel {CHANNEL_ID}")
    sio.wait()


if __name__ == "__main__":
    main()
