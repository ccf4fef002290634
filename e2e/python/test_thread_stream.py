"""An independent client (the `websockets` package) follows a thread over the raw thread
stream (docs/THREAD_STREAM.md) while an agent streams a reply, calls a tool, asks an
approval that a human answers, and completes the conversation. It asserts the exact frame
sequence, then resumes with ``since`` and gets exactly what it missed."""

from __future__ import annotations

import json
import threading
import time

from websockets.sync.client import connect

from assent_e2e import api, base_url, setup_tenant

TIMEOUT = 10


def ws_url(path: str) -> str:
    return base_url().replace("http://", "ws://", 1) + path


def ticket(token: str) -> str:
    return api("POST", "/api/auth/ws-ticket", token=token, json={}, expect=200).json()["ticket"]


def read_until(ws, event_type: str) -> list[dict]:
    frames = []
    deadline = time.monotonic() + TIMEOUT
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"no {event_type!r} frame; got {[f['event_type'] for f in frames]}"
        frame = json.loads(ws.recv(timeout=left))
        frames.append(frame)
        if frame["event_type"] == event_type:
            return frames


def agent_turn(t, human_token: str) -> None:
    ch, key = t.channel_id, t.api_key
    api("POST", f"/api/v1/threads/{ch}/events", api_key=key, json={"event_type": "conversation_started", "workflow_id": "wf-e2e"}, expect=201)
    api("POST", "/api/v1/messages", api_key=key, json={"channelId": ch, "streamId": "turn-1", "streamState": "streaming"}, expect=201)
    for chunk in ["Let me ", "check ", "that."]:
        api("POST", "/api/v1/messages/streams/turn-1/delta", api_key=key, json={"channelId": ch, "delta": chunk}, expect=200)
    api("PATCH", "/api/v1/messages/streams/turn-1", api_key=key, json={"channelId": ch, "complete": True}, expect=200)
    api("POST", f"/api/v1/threads/{ch}/events", api_key=key,
        json={"event_type": "tool_call_started", "workflow_id": "wf-e2e", "tool_call_id": "call_1", "tool_name": "lookup_account", "preview": {"email": "ada@example.com"}}, expect=201)
    api("POST", f"/api/v1/threads/{ch}/events", api_key=key,
        json={"event_type": "tool_call_completed", "workflow_id": "wf-e2e", "tool_call_id": "call_1", "tool_name": "lookup_account"}, expect=201)
    review = api("POST", "/api/v1/messages", api_key=key, json={"channelId": ch, "text": "Refund $20?", "review": {"type": "approval"}}, expect=201).json()
    api("POST", f"/api/messages/{review['id']}/respond", token=human_token, json={"response": {"selectedOption": "approve"}}, expect=201)
    api("POST", "/api/v1/messages", api_key=key, json={"channelId": ch, "text": "Refunded."}, expect=201)
    api("POST", f"/api/v1/threads/{ch}/events", api_key=key, json={"event_type": "conversation_completed", "workflow_id": "wf-e2e"}, expect=201)


def test_a_ui_follows_a_whole_conversation_then_resumes():
    t = setup_tenant()
    with connect(ws_url(f"/ws/threads/{t.channel_id}?ticket={ticket(t.token)}"), open_timeout=TIMEOUT) as ws:
        ready = read_until(ws, "ready")
        assert ready[-1]["thread_id"] == t.channel_id
        worker = threading.Thread(target=agent_turn, args=(t, t.token))
        worker.start()
        frames = read_until(ws, "conversation_completed")
        worker.join(TIMEOUT)
        assert [f["event_type"] for f in frames] == [
            "conversation_started",
            "typing_started",
            "text_delta", "text_delta", "text_delta",
            "stream_end", "message_completed",
            "tool_call_started", "tool_call_completed",
            "approval_pending", "review_responded",
            "message_completed",
            "conversation_completed",
        ]
        assert "".join(f["content"] for f in frames if f["event_type"] == "text_delta") == "Let me check that."
        completed = [f for f in frames if f["event_type"] == "message_completed"]
        assert completed[0]["content"] == "Let me check that." and completed[1]["content"] == "Refunded."
        assert frames[7]["tool_name"] == "lookup_account" and frames[7]["preview"] == {"email": "ada@example.com"}
        assert frames[10]["response"] == {"selectedOption": "approve"}
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"event_type": "pong"}
        seq_after_tools = frames[8]["seq"]

    # Resume from the tool call: exactly the persisted frames after it (no deltas), in order.
    with connect(ws_url(f"/ws/threads/{t.channel_id}?ticket={ticket(t.token)}&since={seq_after_tools}"), open_timeout=TIMEOUT) as ws:
        replay = read_until(ws, "ready")
        assert [f["event_type"] for f in replay] == [
            "approval_pending", "review_responded", "message_completed", "conversation_completed", "ready",
        ]


def test_unauthorized_and_foreign_threads_are_closed_with_codes():
    from websockets.exceptions import ConnectionClosed

    t = setup_tenant()
    for path, code in [
        (f"/ws/threads/{t.channel_id}", 4401),
        (f"/ws/threads/{t.channel_id}?ticket=wt_forged", 4401),
        (f"/ws/threads/not-a-thread?ticket={ticket(t.token)}", 4403),
    ]:
        with connect(ws_url(path), open_timeout=TIMEOUT) as ws:
            try:
                ws.recv(timeout=TIMEOUT)
                raise AssertionError(f"{path}: expected a close")
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == code, (path, closed.rcvd)
