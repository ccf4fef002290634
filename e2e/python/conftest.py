"""Fixtures for the end-to-end suite; the helpers themselves live in assent_e2e.py."""

from __future__ import annotations

import os

import pytest

import assent_e2e as e2e


@pytest.fixture(scope="session", autouse=True)
def _server_url() -> str:
    if not os.environ.get("ASSENT_URL"):
        pytest.fail("ASSENT_URL is not set: start a server and export it, or use e2e/run.sh", pytrace=False)
    return e2e.base_url()


@pytest.fixture(scope="session")
def admin() -> dict:
    """The owner's session: ``{token, user}``."""
    return e2e.login_admin()


@pytest.fixture(scope="session")
def tenant(admin: dict) -> e2e.Tenant:
    """User A (the owner) with an API key and an agent, shared by the whole session."""
    return e2e.setup_tenant(admin)


@pytest.fixture(scope="session")
def member(admin: dict) -> e2e.Tenant:
    """User B: a member created by the owner, with its own API key and agent."""
    return e2e.setup_member_tenant(admin["token"])


@pytest.fixture
def fresh_tenant(admin: dict) -> e2e.Tenant:
    """The owner with a brand-new API key and agent (an empty channel)."""
    return e2e.setup_tenant(admin)


@pytest.fixture
def sockets():
    """A factory of unconnected ``Socket``s, all closed when the test ends."""
    made: list[e2e.Socket] = []

    def make(auth: dict | None) -> e2e.Socket:
        sock = e2e.Socket(auth)
        made.append(sock)
        return sock

    yield make
    for sock in made:
        sock.close()
