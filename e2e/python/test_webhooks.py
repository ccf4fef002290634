"""Webhooks as an existing receiver sees them: Placet's body, Standard Webhooks headers that the
``standardwebhooks`` package verifies, and the same ``webhook-id`` on a retry.

Needs a server started with ASSENT_ALLOW_PRIVATE_WEBHOOKS=true (the receiver is on loopback)
and a short retry schedule, as e2e/run.sh does.
"""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import assent_e2e as e2e


class Receiver:
    """A loopback HTTP server that records requests and answers with scripted statuses."""

    def __init__(self, statuses: list[int]):
        self.hits: list[dict] = []
        self.statuses = list(statuses)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = owner.statuses.pop(0) if owner.statuses else 200
                owner.hits.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                   "body": body, "status": status})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, n: int, timeout: float = 15.0) -> list[dict]:
        deadline = time.time() + timeout
        while len(self.hits) < n:
            if time.time() > deadline:
                pytest.fail(f"expected {n} webhook requests, got {len(self.hits)}: is the server "
                            "running with ASSENT_ALLOW_PRIVATE_WEBHOOKS=true?", pytrace=False)
            time.sleep(0.05)
        return self.hits

    def close(self):
        self.server.shutdown()


def test_a_human_message_reaches_the_webhook_signed_and_retried_with_one_id(fresh_tenant):
    t = fresh_tenant
    rx = Receiver([503])
    try:
        res = e2e.api("POST", "/api/v1/agents/setWebhook", api_key=t.api_key,
                      json={"channelId": t.channel_id, "url": rx.url,
                            "headers": {"X-Team": "ops"}}, expect=200).json()
        secret = res["webhookSecret"]
        assert secret.startswith("whsec_")
        msg = e2e.post_user_message(t.token, t.channel_id, "Please deploy")
        hits = rx.wait_for(2)
        first, second = hits[0], hits[1]
        assert (first["status"], second["status"]) == (503, 200)
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
        assert first["body"] == second["body"]
        assert second["headers"]["x-team"] == "ops"
        payload = Webhook(secret).verify(second["body"], second["headers"])
        assert payload["event"] == "message:created"
        assert payload["channelId"] == t.channel_id
        assert payload["message"]["id"] == msg["id"]
        assert payload["message"]["text"] == "Please deploy"
        assert isinstance(payload["seq"], int)
        # A different secret, or a changed body, does not verify.
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(second["body"], second["headers"])
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(second["body"] + b" ", second["headers"])
        # The server's view: delivered after two attempts.
        deadline = time.time() + 10
        while True:
            d = e2e.api("GET", f"/api/messages/{msg['id']}/deliveries", token=t.token, expect=200).json()["data"][0]
            if d["state"] == "delivered" or time.time() > deadline:
                break
            time.sleep(0.05)
        assert d["state"] == "delivered", d
        assert [a["statusCode"] for a in d["attemptLog"]] == [503, 200]
        assert d["id"] == first["headers"]["webhook-id"]
        body = json.loads(second["body"])
        assert body["message"]["deliveryStatus"] == "sent"  # the body is the event as it happened
    finally:
        rx.close()
