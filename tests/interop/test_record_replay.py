"""Interop: the Pieces SDK's user flow recorded through the proxy, then replayed.

Three real specmock servers, each on an ephemeral loopback port:

1. the upstream, serving the shipped spec in the shipped `vanity-taken` scenario (the first
   vanity update answers 409, the retry 200);
2. the proxy, `--upstream UPSTREAM --record DIR --scenarios EMPTY_DIR`: with no scenario at
   all, every call goes upstream;
3. the replay, `--scenarios DIR --scenario sdk-flow` and no other flag.

The published SDK (pieces-os-client) runs the same flow against the proxy and then against the
replay, in session `sdk-flow` (`X-Mock-Session` as a default header of its ApiClient, and on
the WebSocket handshake): update the user, update the vanity name (409, raised by the SDK as
ConflictException) and again (200), providers, snapshot (shows the update), clear, snapshot
(signed out), then the `/user/stream` WebSocket: its first frame (`signed-out`), an update
(the profile is streamed), a clear (`signed-out` again).

Between the runs the proxy is asked to write the recording (`POST
/__mock/sessions/sdk-flow/record`); `specmock check --scenarios DIR` must pass on it and no
secret the flow sent may be in it: the `Authorization` header value, and the profile's
`providers.iterable[0].access_token` and `apiKeys`.

Compared, run against run: every SDK answer and exception, the journal's request entries
(`GET /__mock/journal?session=sdk-flow`: method, target, operation, status, request and
response body, response content type), and the stream's frames. The replay journals no
server frames (the mock's own streams journal them only under `--record`), so the frames the
WebSocket client received in both runs are compared, and the proxy's journaled
`server-frame` entries against what its client received.

Redacted by design, so masked in the comparisons (every `access_token` and `apiKeys`
property, also in the request bodies, which both runs send alike) and required to be
`[redacted]`, or made only of `[redacted]`, in the replay: in update-user and
user-update-vanity answers and in profile frames `/apiKeys` and
`/providers/iterable/0/access_token`; in user-providers and user-snapshot answers
`/user/apiKeys` and `/user/providers/iterable/0/access_token`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import (
    _binary_path,
    aesthetics,
    http_request,
    running_specmock,
    session_user_api,
)
from pieces_os_client.exceptions import ApiException
from pieces_os_client.models.external_provider import ExternalProvider
from pieces_os_client.models.external_providers import ExternalProviders
from pieces_os_client.models.grouped_timestamp import GroupedTimestamp
from pieces_os_client.models.user_profile import UserProfile
from websockets.asyncio.client import connect

SESSION = "sdk-flow"
STREAM_PATH = "/user/stream"
RECV_TIMEOUT = 5.0
SIGNED_OUT = "signed-out"
REDACTED = "[redacted]"

# The secrets the flow sends: none of them may reach the recording.
BEARER_TOKEN = "tok-SDKFLOW-bearer-7c1f3a9e52"
PROVIDER_TOKEN = "gho_SDKFLOW_provider_4b8e0d2f61"
API_KEY = "pk_SDKFLOW_apikey_93a7c5e1d0"
SECRETS = (BEARER_TOKEN, PROVIDER_TOKEN, API_KEY)
# The properties that hold them in a profile (see the module docstring for their pointers).
SECRET_PROPERTIES = ("access_token", "apiKeys")

# What the flow's calls answer, in order (the handshake's 101 included).
EXPECTED_STEPS = [
    ("update-user", 200),
    ("user-update-vanity", 409),
    ("user-update-vanity", 200),
    ("user-providers", 200),
    ("user-snapshot", 200),
    ("clear-user", 204),
    ("user-snapshot", 200),
    ("stream-user", 101),
    ("update-user", 200),
    ("clear-user", 204),
]
# The journal entry fields that must be the same in the proxied run and in the replay.
COMPARED_FIELDS = (
    "kind",
    "method",
    "target",
    "operation",
    "status",
    "refused",
    "body",
    "response_body",
    "response_content_type",
)


# --------------------------------------------------------------------------- the flow


def _profile(name: str, vanityname: str) -> UserProfile:
    stamp = GroupedTimestamp(value=datetime(2025, 6, 10, 7, 48, 3, tzinfo=timezone.utc))
    return UserProfile(
        id="7f3e2a10-5b4c-4d6e-9a8b-1c2d3e4f5a6b",
        email="ada.flow@example.org",
        name=name,
        username="adaflow",
        vanityname=vanityname,
        aesthetics=aesthetics(),
        apiKeys=[API_KEY],
        providers=ExternalProviders(
            iterable=[
                ExternalProvider(
                    type="github",
                    user_id="60418273",
                    connection="github",
                    isSocial=True,
                    access_token=PROVIDER_TOKEN,
                    created=stamp,
                    updated=stamp,
                )
            ]
        ),
    )


def _outcome(call, /, **kwargs):
    """An SDK call's result as plain data: the model's dict, or the exception's status and body."""
    try:
        result = call(**kwargs)
    except ApiException as exc:
        return {"raised": type(exc).__name__, "status": exc.status, "body": exc.body}
    return None if result is None else result.to_dict()


def _parse_frame(frame):
    """A text frame as the journal shows it: JSON when it is JSON, else the text."""
    try:
        return json.loads(frame)
    except (TypeError, json.JSONDecodeError):
        return frame


def _run_flow(base_url: str) -> tuple[list, list]:
    """The SDK's user flow in session `sdk-flow`: (SDK outcomes in order, stream frames)."""
    with session_user_api(base_url, SESSION, token=BEARER_TOKEN) as api:
        # The SDK sends its bearer token only to operations that declare security; as a
        # default header it is on every call, so none of them may leak it.
        api.api_client.set_default_header("Authorization", f"Bearer {BEARER_TOKEN}")
        outcomes = [
            _outcome(api.update_user, user_profile=_profile("Ada Flow", "ada")),
            _outcome(api.user_update_vanity, user_profile=_profile("Ada Flow", "ada-lovelace")),
            _outcome(api.user_update_vanity, user_profile=_profile("Ada Flow", "ada-lovelace")),
            _outcome(api.user_providers),
            _outcome(api.user_snapshot),
            _outcome(api.clear_user),
            _outcome(api.user_snapshot),
        ]
        frames = asyncio.run(_stream(base_url, api, outcomes))
    return outcomes, frames


async def _stream(base_url: str, api, outcomes: list) -> list:
    """Open the stream, then update and clear while it is open; the frames it sent."""
    url = "ws" + base_url[len("http"):] + STREAM_PATH
    frames = []

    async def recv(ws):
        try:
            frames.append(_parse_frame(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)))
        except asyncio.TimeoutError:
            frames.append({"no frame within": RECV_TIMEOUT})

    async with connect(
        url,
        additional_headers={"X-Mock-Session": SESSION, "Authorization": f"Bearer {BEARER_TOKEN}"},
        open_timeout=RECV_TIMEOUT,
        close_timeout=2,
        max_size=None,
    ) as ws:
        await recv(ws)
        outcomes.append(
            await asyncio.to_thread(
                _outcome, api.update_user, user_profile=_profile("Grace Flow", "grace")
            )
        )
        await recv(ws)
        outcomes.append(await asyncio.to_thread(_outcome, api.clear_user))
        await recv(ws)
    return frames


# --------------------------------------------------------------------------- admin reads


def _journal(base_url: str) -> list[dict]:
    """The session's journal entries, oldest first."""
    status, _, body = http_request(
        base_url, "GET", f"/__mock/journal?session={quote(SESSION)}&limit=1000"
    )
    assert status == 200, body
    page = json.loads(body)
    assert page["next_offset"] is None, page  # every entry on one page
    return list(reversed(page["entries"]))


def _requests(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["kind"] == "request"]


def _stable_journal(base_url: str, expected_requests: int) -> list[dict]:
    """The journal once the flow's requests are all in it (a stream's end is journaled late)."""
    deadline = time.monotonic() + RECV_TIMEOUT
    while True:
        entries = _journal(base_url)
        if len(_requests(entries)) >= expected_requests or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


# --------------------------------------------------------------------------- masking


def _secret_values(value, pointer: str = ""):
    """(pointer, value) of every property named in SECRET_PROPERTIES, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{pointer}/{key}"
            if key in SECRET_PROPERTIES:
                yield here, item
            else:
                yield from _secret_values(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _secret_values(item, f"{pointer}/{index}")


def _masked(value):
    if isinstance(value, dict):
        return {
            key: "<secret>" if key in SECRET_PROPERTIES else _masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _only_redacted(value) -> bool:
    if isinstance(value, list):
        return all(_only_redacted(item) for item in value)
    return value == REDACTED


# --------------------------------------------------------------------------- the runs


@dataclass
class Run:
    url: str
    outcomes: list
    frames: list
    journal: list[dict]


@dataclass
class Runs:
    proxied: Run
    replayed: Run | None  # None: the replay did not start (see `replay_error`)
    replay_error: str | None
    flush_status: int
    flush: dict
    recording: Path
    check: subprocess.CompletedProcess

    def replay(self) -> Run:
        if self.replayed is None:
            pytest.fail(f"the replay did not start: {self.replay_error}", pytrace=False)
        return self.replayed


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    record_dir = tmp_path_factory.mktemp("recordings")
    no_scenarios = tmp_path_factory.mktemp("no-scenarios")
    expected_requests = len(EXPECTED_STEPS)

    with running_specmock(tmp_path_factory, "--scenario", "vanity-taken") as upstream:
        with running_specmock(
            tmp_path_factory,
            "--upstream", upstream.url,
            "--record", str(record_dir),
            "--scenarios", str(no_scenarios),
        ) as proxy:
            outcomes, frames = _run_flow(proxy.url)
            journal = _stable_journal(proxy.url, expected_requests)
            proxied = Run(proxy.url, outcomes, frames, journal)
            status, _, body = http_request(
                proxy.url, "POST", f"/__mock/sessions/{quote(SESSION)}/record", b"{}",
                {"Content-Type": "application/json"},
            )
            flush = json.loads(body)

    recording = record_dir / f"{SESSION}.yaml"
    check = subprocess.run(
        [str(_binary_path()), "check", "--scenarios", str(record_dir)],
        cwd=tmp_path_factory.mktemp("check-cwd"),  # empty: the embedded spec is used
        capture_output=True,
        text=True,
        timeout=30,
    )

    # A recording the replay cannot load fails the replay's tests only, not check's and
    # the secrets' (which say more about it).
    replayed, replay_error = None, None
    try:
        with running_specmock(
            tmp_path_factory, "--scenarios", str(record_dir), "--scenario", SESSION
        ) as replay:
            outcomes, frames = _run_flow(replay.url)
            journal = _stable_journal(replay.url, expected_requests)
            replayed = Run(replay.url, outcomes, frames, journal)
    except pytest.fail.Exception as exc:
        replay_error = str(exc)

    return Runs(proxied, replayed, replay_error, status, flush, recording, check)


# --------------------------------------------------------------------------- through the proxy


def test_the_flow_went_upstream_through_the_proxy_as_the_sdk_expects(runs):
    requests = _requests(runs.proxied.journal)
    assert [(e["operation"], e["status"]) for e in requests] == EXPECTED_STEPS, requests
    for entry in requests:
        assert entry.get("origin") == "upstream", entry
        assert entry["violations"] == [], entry  # the upstream kept the contract

    (updated, taken, free, providers, snapshot, cleared, signed_out, updated_again,
     cleared_again) = runs.proxied.outcomes
    assert updated["name"] == "Ada Flow" and updated["vanityname"] == "ada", updated
    assert taken["raised"] == "ConflictException" and taken["status"] == 409, taken
    assert "taken" in taken["body"], taken
    assert free["vanityname"] == "ada-lovelace", free
    assert providers["user"]["providers"]["iterable"][0]["access_token"] == PROVIDER_TOKEN
    assert snapshot["user"]["vanityname"] == "ada-lovelace", snapshot  # shows the update
    assert snapshot["user"]["apiKeys"] == [API_KEY], snapshot
    assert cleared is None
    assert signed_out == {}, signed_out  # no user
    assert updated_again["name"] == "Grace Flow", updated_again
    assert cleared_again is None

    first, profile, last = runs.proxied.frames
    assert first == SIGNED_OUT
    assert profile == requests[8]["response_body"], profile  # the update, streamed
    assert profile["name"] == "Grace Flow", profile
    assert last == SIGNED_OUT

    server_frames = [e for e in runs.proxied.journal if e["kind"] == "server-frame"]
    assert [e["body"] for e in server_frames] == runs.proxied.frames, server_frames
    assert all(e.get("origin") == "upstream" for e in server_frames), server_frames


def test_the_recording_is_written_on_request_and_passes_check(runs):
    assert runs.flush_status == 200, runs.flush
    assert runs.flush["session"] == SESSION, runs.flush
    assert runs.flush["steps"] == len(EXPECTED_STEPS), runs.flush
    assert Path(runs.flush["file"]).resolve() == runs.recording.resolve(), runs.flush
    assert runs.recording.is_file(), runs.recording
    assert runs.check.returncode == 0, (
        f"specmock check exited {runs.check.returncode}\n"
        f"stdout:\n{runs.check.stdout}\nstderr:\n{runs.check.stderr}"
    )


def test_the_recording_holds_no_secret_the_flow_sent(runs):
    text = runs.recording.read_text()
    # Bytes written as `binary:` (base64) are read too: a secret must not hide there either.
    decoded = [
        base64.b64decode(blob).decode("utf-8", "replace")
        for blob in re.findall(r"binary:\s*\"?([A-Za-z0-9+/=]{8,})", text)
    ]
    leaked = {
        secret: [n + 1 for n, line in enumerate(text.splitlines()) if secret in line]
        for secret in SECRETS
        if secret in text or any(secret in d for d in decoded)
    }
    assert not leaked, f"secrets in {runs.recording} (secret: lines): {leaked}"


# --------------------------------------------------------------------------- the replay


def test_the_replay_answers_every_call_as_recorded(runs):
    proxied = _requests(runs.proxied.journal)
    replayed = _requests(runs.replay().journal)
    for entry in replayed:
        assert entry.get("note") is None, entry  # the recording expected every call
        assert entry["rule"] and SESSION in entry["rule"], entry  # answered by the recording
    assert [
        {field: _masked(e.get(field)) for field in COMPARED_FIELDS} for e in replayed
    ] == [{field: _masked(e.get(field)) for field in COMPARED_FIELDS} for e in proxied]
    assert _masked(runs.replay().outcomes) == _masked(runs.proxied.outcomes)


def test_the_replay_streams_the_recorded_frames(runs):
    # The replay's own stream journals no server frames (only under --record): compare the
    # frames its WebSocket client received with those the proxy relayed and journaled.
    relayed = [e["body"] for e in runs.proxied.journal if e["kind"] == "server-frame"]
    assert _masked(runs.replay().frames) == _masked(runs.proxied.frames)
    assert _masked(runs.replay().frames) == _masked(relayed)


def test_the_replay_answers_redacted_where_a_secret_was(runs):
    proxied = [*runs.proxied.outcomes, *runs.proxied.frames]
    replayed = [*runs.replay().outcomes, *runs.replay().frames]
    proxied_secrets = list(_secret_values(proxied))
    replayed_secrets = list(_secret_values(replayed))
    # The same places hold a secret in both runs, ...
    assert [p for p, _ in replayed_secrets] == [p for p, _ in proxied_secrets]
    assert {json.dumps(v) for _, v in proxied_secrets} == {
        json.dumps(PROVIDER_TOKEN), json.dumps([API_KEY])
    }
    # ... and the replay answers none of them.
    not_redacted = [(p, v) for p, v in replayed_secrets if not _only_redacted(v)]
    assert not not_redacted, not_redacted
