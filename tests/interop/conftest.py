"""Session fixtures: run the real specmock binary once for the whole interop suite.

The binary comes from $SPECMOCK_BIN (default: target/release/specmock, relative to
the repository root). It is started with `--port 0` from an empty temporary working
directory, so it has no ./openapi.yaml and must serve its embedded copy of the
Pieces OS User API.

`spawn_specmock` (one test) and `running_specmock` (any scope) start further, separate
servers for tests that need flags of their own (e.g. `--fail-on-violation --report FILE`),
must see the exit code, or send more requests than the shared journal should hold.

The helpers after the fixtures are shared by the test modules (`from conftest import ...`):
the Pieces SDK objects they send and the plain HTTP they check the mock's own answers with.
"""

from __future__ import annotations

import http.client
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pieces_os_client.api.user_api import UserApi
from pieces_os_client.api_client import ApiClient
from pieces_os_client.configuration import Configuration
from pieces_os_client.models.aesthetics import Aesthetics
from pieces_os_client.models.auth0_user import Auth0User
from pieces_os_client.models.font import Font
from pieces_os_client.models.theme import Theme
from pieces_os_client.models.user_profile import UserProfile

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 10.0
LISTENING_RE = re.compile(r"^listening on (http://\S+?)/?$")

REQUEST_TIMEOUT_S = 10.0
PROBLEM_JSON = "application/problem+json"
PROBLEM_URN = "urn:specmock:problem:"
# The user of the shipped `default` scenario (fixtures/user-signed-in.json).
DEFAULT_USER_ID = "c41e9a7d-2f63-4b8e-a915-6d0b3e72f8c4"


def _binary_path() -> Path:
    raw = os.environ.get("SPECMOCK_BIN", "target/release/specmock")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


class _Server:
    def __init__(self, proc: subprocess.Popen, stderr_path: Path) -> None:
        self.proc = proc
        self.stderr_path = stderr_path
        self.stdout_lines: list[str] = []
        self._lines: "queue.Queue[str | None]" = queue.Queue()
        # Keep draining stdout for the whole session so the child never blocks
        # on a full pipe.
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\r\n")
            self.stdout_lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def stderr_tail(self, n: int = 40) -> str:
        try:
            lines = self.stderr_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def wait_listening(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no 'listening on' line within {timeout}s")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(
                    f"specmock exited (code {self.proc.poll()}) before listening"
                )
            m = LISTENING_RE.match(line.strip())
            if m:
                return m.group(1)


def _launch(
    tmp_path_factory: pytest.TempPathFactory, *extra_args: str, port: int = 0
) -> tuple[_Server, str]:
    """Start the binary on `port` (0: a free one) of loopback from an empty working directory."""
    binary = _binary_path()
    if not binary.is_file():
        pytest.fail(
            f"specmock binary not found at {binary}; build it (cargo build --release) "
            "or set SPECMOCK_BIN",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("specmock-cwd")  # empty: embedded spec is used
    stderr_path = tmp_path_factory.mktemp("specmock-log") / "stderr.log"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [str(binary), "--port", str(port), "--host", "127.0.0.1", *extra_args],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1,
        )
    server = _Server(proc, stderr_path)
    try:
        url = server.wait_listening(STARTUP_TIMEOUT_S)
    except Exception as exc:
        proc.kill()
        proc.wait()
        pytest.fail(
            f"specmock did not start: {exc}\nstdout: {server.stdout_lines}\n"
            f"stderr tail:\n{server.stderr_tail()}",
            pytrace=False,
        )
    return server, url


def _terminate(server: _Server) -> int:
    """SIGTERM, then the exit code; fails the test if it does not exit in time."""
    proc = server.proc
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(
            f"specmock did not exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM\n"
            f"stderr tail:\n{server.stderr_tail()}",
            pytrace=False,
        )


class SpawnedSpecmock:
    """A specmock of a test's own (its own flags, journal and exit code)."""

    def __init__(self, server: _Server, url: str) -> None:
        self._server = server
        self.url = url
        self.exit_code: int | None = None

    def stop(self) -> int:
        """SIGTERM; returns the exit code once the process has gone."""
        if self.exit_code is None:
            self.exit_code = _terminate(self._server)
        return self.exit_code

    def stderr_tail(self, n: int = 40) -> str:
        return self._server.stderr_tail(n)


@contextmanager
def running_specmock(
    tmp_path_factory: pytest.TempPathFactory, *extra_args: str, port: int = 0
) -> Iterator[SpawnedSpecmock]:
    """A separate specmock, stopped (SIGTERM, then SIGKILL if need be) on exit if not before."""
    server, url = _launch(tmp_path_factory, *extra_args, port=port)
    handle = SpawnedSpecmock(server, url)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def spawn_specmock(tmp_path_factory: pytest.TempPathFactory):
    """Factory: `spawn_specmock("--fail-on-violation", ...)` starts a separate specmock.

    Each is stopped at teardown if the test did not.
    """
    with ExitStack() as servers:
        yield lambda *extra_args: servers.enter_context(
            running_specmock(tmp_path_factory, *extra_args)
        )


@pytest.fixture(scope="session")
def specmock_url(tmp_path_factory: pytest.TempPathFactory):
    """Base URL (http://HOST:PORT, no trailing slash) of a running specmock."""
    server, url = _launch(tmp_path_factory)

    yield url

    code = _terminate(server)
    assert code == 0, (
        f"specmock exited with {code} after SIGTERM (expected 0)\n"
        f"stderr tail:\n{server.stderr_tail()}"
    )
    extra = [l for l in server.stdout_lines if LISTENING_RE.match(l.strip())]
    assert len(extra) == 1, f"expected exactly one 'listening on' line: {server.stdout_lines}"


# --------------------------------------------------------------------------- shared helpers


@contextmanager
def session_user_api(
    base_url: str,
    session: str,
    scenario: str | None = None,
    *,
    token: str | None = "test-token",
) -> Iterator[UserApi]:
    """A UserApi whose every request carries `X-Mock-Session: session` (and the scenario).

    The token is what the SDK sends as `Authorization: Bearer`, which `select-user` requires.
    """
    configuration = Configuration(host=base_url, access_token=token)
    with ApiClient(configuration) as client:
        client.set_default_header("X-Mock-Session", session)
        if scenario is not None:
            client.set_default_header("X-Mock-Scenario", scenario)
        yield UserApi(client)


def aesthetics(dark: bool = True, size: int = 14) -> Aesthetics:
    return Aesthetics(theme=Theme(dark=dark), font=Font(size=size))


def default_user_profile(**fields) -> UserProfile:
    """The `default` scenario's user as an update: its id, the required aesthetics, `fields`."""
    return UserProfile(id=DEFAULT_USER_ID, aesthetics=aesthetics(), **fields)


def github_auth0_user() -> Auth0User:
    """The Auth0 record `select-user` signs in: a GitHub login, only the usual fields."""
    return Auth0User(
        user_id="github|1234567",
        email="sam.okafor@example.org",
        name="Sam Okafor",
        created_at=datetime(2023, 11, 6, 10, 15, 42, tzinfo=timezone.utc),
    )


def http_request(
    base_url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
):
    """One request with exact bytes, past the SDK; returns (status, headers, body bytes)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()
