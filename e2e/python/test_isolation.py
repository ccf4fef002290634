"""Tenant isolation: user B must never see or write into user A's channels."""

from __future__ import annotations

import assent_e2e as e2e
from assent_e2e import assert_refused_ack


def test_b_cannot_subscribe_to_a_and_sees_nothing(tenant, member, sockets):
    a, b = tenant, member
    assert a.user["id"] != b.user["id"], "A and B must be different users"

    sa = sockets({"apiKey": a.api_key}).connect()
    sa.subscribe_ok(a.channel_id)

    sb = sockets({"apiKey": b.api_key}).connect()
    assert_refused_ack(sb.subscribe({"channelId": a.channel_id}), "object form")
    assert_refused_ack(sb.subscribe(a.channel_id), "bare-string form")
    # Placet's own client sends no ack: that must be silently ignored, not honoured.
    sb.emit("subscribe:channel", a.channel_id)
    sb.emit("subscribe:channel", {"channelId": a.channel_id, "lastSeq": 0})
    sb.subscribe_ok(b.channel_id)

    agent_msg = e2e.post_agent_message(a.api_key, a.channel_id, e2e.uid("A agent secret"))
    user_msg = e2e.post_user_message(a.token, a.channel_id, e2e.uid("A human secret"))
    q = f"?channel={a.channel_id}"
    e2e.api("POST", f"/api/v1/messages/{user_msg['id']}/ack{q}", api_key=a.api_key, expect=200)
    e2e.api("DELETE", f"/api/v1/messages/{agent_msg['id']}{q}", api_key=a.api_key, expect=200)

    # Positive control: A saw it, so the server did broadcast.
    sa.wait_for("message:created", lambda m: m.get("id") == user_msg["id"], what="A's message on A's socket")
    sa.wait_for("message:deleted", lambda d: d.get("messageId") == agent_msg["id"], what="A's deletion on A's socket")

    ids = {agent_msg["id"], user_msg["id"]}

    def from_a(d):
        return isinstance(d, dict) and (d.get("channelId") == a.channel_id or d.get("messageId") in ids or d.get("id") in ids)

    sb.expect_none("message:created", from_a, what="B must not see A's messages")
    for event in ("message:deleted", "message:delivery"):
        sb.expect_none(event, from_a, quiet=0, what=f"B must not see A's {event}")


def test_b_dashboard_sees_nothing_of_a(tenant, member, sockets):
    a, b = tenant, member
    sa = sockets({"apiKey": a.api_key}).connect()
    sa.subscribe_ok(a.channel_id)
    db = sockets({"token": e2e.ws_ticket(b.token)}).connect()
    assert_refused_ack(db.subscribe({"channelId": a.channel_id}), "dashboard subscribe")

    msg = e2e.post_agent_message(a.api_key, a.channel_id, e2e.uid("A secret for dashboards"))
    e2e.status_ping(a.api_key, a.channel_id, "busy", "secret work")
    sa.wait_for("message:created", lambda m: m.get("id") == msg["id"], what="positive control")

    db.expect_none("message:created", lambda m: m.get("channelId") == a.channel_id, what="B's dashboard")
    db.expect_none("agent:status", lambda s: s.get("agentId") == a.channel_id, quiet=0, what="B's dashboard")


def test_unknown_channel_is_refused(tenant, sockets):
    sock = sockets({"apiKey": tenant.api_key}).connect()
    assert_refused_ack(sock.subscribe({"channelId": e2e.uid("no-such-channel")}), "unknown channel")


def test_b_rest_post_into_a_is_403(tenant, member):
    res = e2e.api("POST", "/api/v1/messages", api_key=member.api_key, json={"channelId": tenant.channel_id, "text": "intrusion"})
    assert res.status_code == 403, f"status: {res.status_code} {res.text}"
    body = res.json()
    assert body.get("statusCode") == 403, f"body.statusCode: {res.text}"
    assert body.get("message") == "Not your agent", f"body.message: {res.text}"
    assert isinstance(body.get("code"), str), f"body.code: {res.text}"
