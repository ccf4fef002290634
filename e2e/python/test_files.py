"""Files as Placet's Python example sends them: `requests` multipart uploads to
/api/v1/files/store and /upload, linking with attachmentIds, text attachments, and the
agent hearing a human's file over python-socketio."""

from __future__ import annotations

import requests

import assent_e2e as e2e

PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"


def _agent_headers(tenant: e2e.Tenant) -> dict:
    # Placet's examples send the key as a bearer token.
    return {"Authorization": f"Bearer {tenant.api_key}"}


def test_store_then_send_like_placets_python_example(tenant):
    url = e2e.base_url()
    res = requests.post(
        f"{url}/api/v1/files/store",
        headers=_agent_headers(tenant),
        data={"channelId": tenant.channel_id},
        files={"file": ("chart.png", PNG, "image/png")},
        timeout=30,
    )
    assert res.status_code == 201, res.text
    stored = res.json()
    assert stored["messageId"] is None and stored["pluginType"] == "@uax/image"
    assert stored["size"] == len(PNG)
    msg = e2e.post_agent_message(tenant.api_key, tenant.channel_id, "Here is the chart", attachmentIds=[stored["id"]])
    assert [a["id"] for a in msg["attachments"]] == [stored["id"]]
    got = requests.get(f"{url}/api/v1/files/{stored['id']}/download", headers=_agent_headers(tenant), timeout=30)
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["x-content-type-options"] == "nosniff"
    # Linking the same file again is refused with the field's path.
    again = requests.post(
        f"{url}/api/v1/messages",
        headers=_agent_headers(tenant),
        json={"channelId": tenant.channel_id, "attachmentIds": [stored["id"]]},
        timeout=30,
    )
    assert again.status_code == 400
    assert again.json()["errors"][0]["path"] == "attachmentIds[0]"


def test_upload_and_text_attachments(tenant):
    url = e2e.base_url()
    res = requests.post(
        f"{url}/api/v1/files/upload",
        headers=_agent_headers(tenant),
        data={"channelId": tenant.channel_id},
        files={"file": ("notes.txt", b"line one\n", "text/plain")},
        timeout=30,
    )
    assert res.status_code == 201, res.text
    up = res.json()
    assert up["message"]["attachments"][0]["textContent"] == "line one\n"
    msg = e2e.post_agent_message(
        tenant.api_key,
        tenant.channel_id,
        "Report",
        textAttachments=[{"content": "# Done", "filename": "report.md"}],
    )
    assert msg["attachments"][0]["textContent"] == "# Done"
    page = requests.get(
        f"{url}/api/v1/messages",
        headers=_agent_headers(tenant),
        params={"channel": tenant.channel_id, "has_attachments": "true"},
        timeout=30,
    ).json()
    assert all(m["attachments"] for m in page["data"]) and len(page["data"]) >= 2


def test_the_agent_hears_a_file_the_human_sends(tenant, sockets):
    client = sockets({"apiKey": tenant.api_key}).connect()
    client.subscribe_ok(tenant.channel_id)
    res = requests.post(
        f"{e2e.base_url()}/api/files/upload",
        headers={"Authorization": f"Bearer {tenant.token}"},
        data={"channelId": tenant.channel_id, "text": "see attached"},
        files={"file": ("photo.png", PNG, "image/png")},
        timeout=30,
    )
    assert res.status_code == 201, res.text
    ev = client.wait_for("message:created", lambda m: m.get("id") == res.json()["messageId"], what="the file")
    assert ev["senderType"] == "user"
    assert ev["attachments"][0]["filename"] == "photo.png"
