"""The human dashboard's socket: ws-ticket auth, one copy per message, agent:status."""

from __future__ import annotations

import time

import assent_e2e as e2e
from assent_e2e import is_int


def test_dashboard_gets_message_created_once(tenant, sockets):
    dash = sockets({"token": e2e.ws_ticket(tenant.token)}).connect()

    # Without subscribing: the user's room alone delivers it.
    first = e2e.post_agent_message(tenant.api_key, tenant.channel_id, e2e.uid("dashboard unsubscribed"))
    dash.wait_for("message:created", lambda m: m.get("id") == first["id"], what="message via the user room")

    # Subscribed as well: still one copy per message.
    dash.subscribe_ok(tenant.channel_id)
    msg = e2e.post_agent_message(tenant.api_key, tenant.channel_id, e2e.uid("dashboard subscribed"))
    marker = e2e.post_user_message(tenant.token, tenant.channel_id, e2e.uid("marker"))
    dash.wait_for("message:created", lambda m: m.get("id") == msg["id"], what="message while subscribed")
    dash.wait_for("message:created", lambda m: m.get("id") == marker["id"], what="marker message")
    time.sleep(e2e.QUIET)  # let any duplicate straggle in
    for mid in (first["id"], msg["id"], marker["id"]):
        copies = len(dash.of("message:created", lambda m, mid=mid: m.get("id") == mid))
        assert copies == 1, f"message {mid} delivered {copies} times to the dashboard"


def test_dashboard_gets_agent_status(tenant, sockets):
    dash = sockets({"token": e2e.ws_ticket(tenant.token)}).connect()
    status_message = e2e.uid("working")
    e2e.status_ping(tenant.api_key, tenant.channel_id, "busy", status_message)
    st = dash.wait_for(
        "agent:status",
        lambda s: s.get("agentId") == tenant.channel_id and s.get("statusMessage") == status_message,
        what="busy heartbeat",
    )
    assert st.get("status") == "busy", f"agent:status: {st}"
    assert st.get("statusSince") is not None, f"statusSince: {st}"
    assert is_int(st.get("seq")), f"agent:status seq: {st}"


def test_agents_never_get_agent_status(tenant, sockets):
    agent = sockets({"apiKey": tenant.api_key}).connect()
    agent.subscribe_ok(tenant.channel_id)
    dash = sockets({"token": e2e.ws_ticket(tenant.token)}).connect()
    status_message = e2e.uid("agents must not see this")
    e2e.status_ping(tenant.api_key, tenant.channel_id, "busy", status_message)
    dash.wait_for("agent:status", lambda s: s.get("statusMessage") == status_message, what="positive control")
    agent.expect_none("agent:status", what="agent socket")


def test_session_token_authenticates_a_dashboard(tenant, sockets):
    dash = sockets({"token": tenant.token}).connect()
    msg = e2e.post_agent_message(tenant.api_key, tenant.channel_id, e2e.uid("to session-token dashboard"))
    dash.wait_for("message:created", lambda m: m.get("id") == msg["id"], what="message on a session-token socket")


def test_bogus_dashboard_token_is_unauthorized(sockets):
    err = sockets({"token": "not-a-real-token"}).connect_expecting_error()
    assert isinstance(err, dict) and err.get("message") == "unauthorized", f"connect_error payload: {err!r}"
