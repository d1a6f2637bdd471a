"""Session fixtures: run the real specmock binary once for the whole interop suite.

The binary comes from $SPECMOCK_BIN (default: target/release/specmock, relative to
the repository root). It is started with `--port 0` from an empty temporary working
directory, so it has no ./openapi.yaml and must serve its embedded copy of the
Pieces OS User API.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 10.0
LISTENING_RE = re.compile(r"^listening on (http://\S+?)/?$")


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


@pytest.fixture(scope="session")
def specmock_url(tmp_path_factory: pytest.TempPathFactory):
    """Base URL (http://HOST:PORT, no trailing slash) of a running specmock."""
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
            [str(binary), "--port", "0", "--host", "127.0.0.1"],
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

    yield url

    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(
            f"specmock did not exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM\n"
            f"stderr tail:\n{server.stderr_tail()}",
            pytrace=False,
        )
    assert code == 0, (
        f"specmock exited with {code} after SIGTERM (expected 0)\n"
        f"stderr tail:\n{server.stderr_tail()}"
    )
    extra = [l for l in server.stdout_lines if LISTENING_RE.match(l.strip())]
    assert len(extra) == 1, f"expected exactly one 'listening on' line: {server.stdout_lines}"
