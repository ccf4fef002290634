"""An agent's view of the gateway with the real python-socketio client, as Placet documents it."""

from __future__ import annotations

import assent_e2e as e2e
from assent_e2e import is_int


def test_seed_flow_bare_subscribe_then_message_created(tenant, sockets):
    """Seed 000: connect with the API key, subscribe (bare id) on connect, get a REST post."""
    sock = sockets({"apiKey": tenant.api_key})
    # Exactly the documented client: subscribe in the connect handler, without an ack.
    sock.sio.on("connect", lambda: sock.emit("subscribe:channel", tenant.channel_id), namespace=e2e.NAMESPACE)
    sock.connect()
    # No ack in this form; a ping round trip lets the server handle the subscription first.
    sock.emit("ping")
    sock.wait_for("pong", what="pong after subscribe")

    text = e2e.uid("hello from the agent")
    posted = e2e.post_agent_message(tenant.api_key, tenant.channel_id, text)
    e2e.assert_message_shape(
        posted, channel_id=tenant.channel_id, sender_type="agent", sender_id=tenant.channel_id, text=text
    )
    assert posted.get("deliveryStatus") == "sent", f"REST message deliveryStatus: {posted}"

    got = sock.wait_for("message:created", lambda m: m.get("id") == posted["id"], what="posted message")
    e2e.assert_message_shape(got, channel_id=tenant.channel_id, sender_type="agent", sender_id=tenant.channel_id, text=text)
    assert got["seq"] == posted["seq"], f"event seq {got['seq']} != REST seq {posted['seq']}"


def test_bare_subscribe_with_ack(tenant, sockets):
    sock = sockets({"apiKey": tenant.api_key}).connect()
    ack = sock.subscribe(tenant.channel_id)
    assert isinstance(ack, dict) and ack.get("ok") is True, f"ack: {ack!r}"
    assert ack.get("channelId") == tenant.channel_id, f"ack channelId: {ack!r}"
    assert is_int(ack.get("lastSeq")) and ack["lastSeq"] >= 0, f"ack lastSeq: {ack!r}"


def test_agent_receives_human_message(tenant, sockets):
    sock = sockets({"apiKey": tenant.api_key}).connect()
    sock.subscribe_ok(tenant.channel_id)
    text = e2e.uid("Looks good, ship it!")
    posted = e2e.post_user_message(tenant.token, tenant.channel_id, text, clientId=e2e.uid("client"))
    e2e.assert_message_shape(
        posted, channel_id=tenant.channel_id, sender_type="user", sender_id=tenant.user["id"], text=text
    )
    got = sock.wait_for("message:created", lambda m: m.get("id") == posted["id"], what="human message")
    e2e.assert_message_shape(got, channel_id=tenant.channel_id, sender_type="user", sender_id=tenant.user["id"], text=text)


def test_bad_key_gets_unauthorized(sockets):
    err = sockets({"apiKey": e2e.BAD_KEY}).connect_expecting_error()
    assert isinstance(err, dict) and err.get("message") == "unauthorized", f"connect_error payload: {err!r}"


def test_missing_auth_gets_unauthorized(sockets):
    err = sockets(None).connect_expecting_error()
    assert isinstance(err, dict) and err.get("message") == "unauthorized", f"connect_error payload: {err!r}"


def test_ping_pong(tenant, sockets):
    sock = sockets({"apiKey": tenant.api_key}).connect()
    sock.emit("ping")
    sock.wait_for("pong", what="pong")


def test_ack_and_delete_events(tenant, sockets):
    sock = sockets({"apiKey": tenant.api_key}).connect()
    sock.subscribe_ok(tenant.channel_id)
    posted = e2e.post_user_message(tenant.token, tenant.channel_id, e2e.uid("please ack me"))
    created = sock.wait_for("message:created", lambda m: m.get("id") == posted["id"], what="message to ack")
    q = f"?channel={tenant.channel_id}"

    res = e2e.api("POST", f"/api/v1/messages/{posted['id']}/ack{q}", api_key=tenant.api_key, expect=200)
    assert res.json() == {"acknowledged": True}, f"ack body: {res.text}"
    delivery = sock.wait_for("message:delivery", lambda d: d.get("messageId") == posted["id"], what="delivery tick")
    assert delivery.get("deliveryStatus") == "agent_received", f"delivery: {delivery}"
    assert is_int(delivery.get("seq")) and delivery["seq"] > created["seq"], f"delivery seq: {delivery} vs {created['seq']}"

    res = e2e.api("DELETE", f"/api/v1/messages/{posted['id']}{q}", api_key=tenant.api_key, expect=200)
    assert res.json() == {"deleted": True}, f"delete body: {res.text}"
    deleted = sock.wait_for("message:deleted", lambda d: d.get("messageId") == posted["id"], what="deletion")
    assert deleted.get("channelId") == tenant.channel_id, f"deleted: {deleted}"
    assert is_int(deleted.get("seq")) and deleted["seq"] > delivery["seq"], f"deleted seq: {deleted} vs {delivery['seq']}"
