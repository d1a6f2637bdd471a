"""The SDK's own `PiecesClient` wrapper, unmodified, against specmock serving two specs.

`PiecesClient()` finds Pieces OS by itself: it takes no host, and probes
`HEAD /.well-known/health` on ports 39300 to 39333. At start-up it calls `GET
/.well-known/health`, `POST /connect` (outside the User API: served by
`specs/pieces-connect.yaml`), `GET /user`, and `GET /models` (it selects "GPT-3.5-turbo
Chat Model" and refuses to start without it). (It also opens WebSockets, which its flags
turn off here.) The mock serves the User API
(`openapi.yaml`, with the shipped fixtures and scenarios) and the connect spec side by
side, on the first free port of the wrapper's range.
"""

from __future__ import annotations

import json
import socket

import pytest
from conftest import DEFAULT_USER_ID, REPO_ROOT, http_request, running_specmock
from pieces_os_client.wrapper.client import PiecesClient

# The ports the wrapper probes, in `PiecesClient._port_scanning`.
SCANNED = range(39300, 39334)


def _answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.05)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _scanned_port() -> int:
    """The first port of the wrapper's range; the test needs the whole range to itself, or
    the wrapper could find another server first."""
    taken = [port for port in SCANNED if _answers(port)]
    if taken:
        pytest.fail(f"ports {taken} of the wrapper's range are in use; the test needs them free")
    return SCANNED[0]


@pytest.fixture
def both_specs(tmp_path_factory):
    flags = [
        "--spec", str(REPO_ROOT / "openapi.yaml"),
        "--spec", str(REPO_ROOT / "specs" / "pieces-connect.yaml"),
        "--fixtures", str(REPO_ROOT / "fixtures"),
        "--scenarios", str(REPO_ROOT / "scenarios"),
    ]
    with running_specmock(tmp_path_factory, *flags, port=_scanned_port()) as mock:
        yield mock


def _journal(url: str) -> list[dict]:
    status, _, body = http_request(url, "GET", "/__mock/journal?limit=100")
    assert status == 200, body
    return list(reversed(json.loads(body)["entries"]))


def test_the_unmodified_pieces_client_starts_and_reads_the_user(both_specs):
    # Its WebSockets (seven streams, and the copilot's `/qgpt/stream` it opens as soon as it
    # has a host) are outside both specs but `/user/stream`: the wrapper's own flags leave
    # them closed.
    client = PiecesClient(connect_websockets=False, reconnect_on_host_change=False)
    try:
        client.ensure_initialization()
        assert client.host == both_specs.url
        assert client.tracked_application.name.value == "OPEN_SOURCE"
        assert client.model_name == "GPT-3.5-turbo Chat Model"
        assert "GPT-4o Chat Model" in client.available_models_names
        assert client.version == "11.2.1"
        snapshot = client.user_api.user_snapshot()
        assert snapshot.user.id == DEFAULT_USER_ID
    finally:
        PiecesClient.close()

    entries = _journal(both_specs.url)
    called = [entry["operation"] for entry in entries]
    assert called[:5] == ["health-head", "health", "connect", "user-snapshot", "models-snapshot"], called
    assert called[-2:] == ["version", "user-snapshot"], called
    broken = [entry for entry in entries if entry["violations"] or entry["refused"]]
    assert broken == [], broken
    # After connecting, every call names the application it registered as.
    connect = next(entry for entry in entries if entry["operation"] == "connect")
    assert connect["body"]["application"]["name"] == "OPEN_SOURCE", connect
    assert connect["status"] == 200, connect
