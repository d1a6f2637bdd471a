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

import http.client
import http.server
import json
import socket
import threading
import urllib.request

import pytest
from conftest import DEFAULT_USER_ID, REPO_ROOT, http_request, running_specmock
from pieces_os_client.wrapper.client import PiecesClient

# The ports the wrapper probes, in `PiecesClient._port_scanning`.
SCANNED = range(39300, 39334)


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.05)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _answers_health(port: int) -> bool:
    """What the wrapper asks of each port: `HEAD /.well-known/health`, 200."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/.well-known/health", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=0.5) as response:
            return response.status == 200
    except (OSError, http.client.HTTPException):
        return False


def _scanned_port() -> int:
    """The first free port of the wrapper's range. The wrapper takes whichever port of the
    range answers `HEAD /.well-known/health` first, so another listener may hold a port of
    it only if it does not answer that."""
    taken = [port for port in SCANNED if _accepts(port)]
    answering = [port for port in taken if _answers_health(port)]
    if answering:
        pytest.fail(
            f"ports {answering} of the wrapper's range answer HEAD /.well-known/health: "
            "the wrapper could take one of them for the mock"
        )
    free = [port for port in SCANNED if port not in taken]
    if not free:
        pytest.fail(f"every port of the wrapper's range ({SCANNED.start} to {SCANNED.stop - 1}) is in use")
    return free[0]


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
    # The wrapper registers as the application its SDK names.
    connect = next(entry for entry in entries if entry["operation"] == "connect")
    assert connect["body"]["application"]["name"] == "OPEN_SOURCE", connect
    assert connect["status"] == 200, connect


def test_the_mock_takes_the_first_free_port_beside_a_listener_that_is_not_pieces():
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", next(port for port in SCANNED if not _accepts(port))))
        held.listen()
        port = _scanned_port()
        assert port != held.getsockname()[1]
        assert port in SCANNED and not _accepts(port)


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):  # noqa: N802 (the handler's name is the method's)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_another_server_answering_health_in_the_range_is_named():
    server = http.server.HTTPServer(("127.0.0.1", _scanned_port()), _Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(pytest.fail.Exception, match=rf"\[{server.server_port}\] .* answer HEAD"):
            _scanned_port()
    finally:
        server.shutdown()
        server.server_close()
