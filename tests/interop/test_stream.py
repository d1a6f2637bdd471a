"""Interop: the `stream-user` WebSocket (`GET /user/stream`, `x-websocket: true`).

Frames are read with the `websockets` asyncio client and every text frame is parsed with
the Pieces SDK's own `UserProfile.from_json`, exactly as the SDK's `AuthWS` does: a frame
that is not JSON means "signed out". Changes are made through the published SDK
(pieces-os-client 5.0.1) `UserApi`, in the same `X-Mock-Session` as the stream. The last
tests drive the SDK's real `AuthWS` class (websocket-client, in its own thread).

The session-scoped specmock binary is shared by the whole suite, so every test works in
sessions of its own, named after the test. Every receive has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import DEFAULT_USER_ID, default_user_profile, github_auth0_user, session_user_api
from pieces_os_client.api.connector_api import ConnectorApi
from pieces_os_client.api_client import ApiClient
from pieces_os_client.configuration import Configuration
from pieces_os_client.exceptions import NotFoundException
from pieces_os_client.models.seeded_connector_connection import SeededConnectorConnection
from pieces_os_client.models.seeded_tracked_application import SeededTrackedApplication
from pieces_os_client.models.user_profile import UserProfile
from pieces_os_client.wrapper.websockets.auth_ws import AuthWS
from pieces_os_client.wrapper.websockets.base_websocket import BaseWebsocket
import websocket  # websocket-client, which the SDK's AuthWS runs on
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError
from websockets.protocol import State

STREAM_PATH = "/user/stream"
SIGNED_OUT = "signed-out"
RECV_TIMEOUT = 5.0  # a frame that is due must arrive within this
QUIET_S = 0.5  # how long a stream that must not get a frame is watched
OPEN_TIMEOUT = 5.0
DISPATCH_POLL_S = 0.2  # see auth_ws_factory


# --------------------------------------------------------------------------- helpers


def _ws_url(base_url: str, session: str | None = None, scenario: str | None = None) -> str:
    query = {}
    if session is not None:
        query["__session"] = session
    if scenario is not None:
        query["__scenario"] = scenario
    url = "ws" + base_url[len("http"):] + STREAM_PATH
    return url + ("?" + urlencode(query) if query else "")


def _connect(base_url: str, session: str | None = None, scenario: str | None = None, **kwargs):
    return connect(
        _ws_url(base_url, session, scenario),
        open_timeout=OPEN_TIMEOUT,
        close_timeout=2,
        max_size=None,
        **kwargs,
    )


def _parse(frame: str) -> UserProfile | None:
    """What the SDK's AuthWS makes of a frame: a UserProfile, or None (not JSON: signed out)."""
    try:
        profile = UserProfile.from_json(frame)
    except json.JSONDecodeError:
        return None
    assert isinstance(profile, UserProfile), type(profile)
    return profile


async def _recv(ws) -> str:
    frame = await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
    assert isinstance(frame, str), f"expected a text frame, got {type(frame).__name__}"
    return frame


async def _recv_profile(ws) -> UserProfile:
    frame = await _recv(ws)
    profile = _parse(frame)
    assert profile is not None, f"expected a UserProfile frame, got {frame[:200]!r}"
    assert isinstance(profile.id, str) and profile.id, profile
    return profile


async def _recv_signed_out(ws) -> None:
    frame = await _recv(ws)
    assert frame == SIGNED_OUT, frame[:200]
    assert _parse(frame) is None


async def _assert_quiet(ws, seconds: float = QUIET_S) -> None:
    """No frame arrives within `seconds` (and the stream is still open)."""
    try:
        frame = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        pass
    else:
        pytest.fail(f"unexpected frame: {frame[:200]!r}")
    await _assert_open(ws)


async def _assert_open(ws) -> None:
    assert ws.state is State.OPEN, ws.state
    pong = await ws.ping()
    await asyncio.wait_for(pong, RECV_TIMEOUT)


def _profile(name: str, vanityname: str = "sam") -> UserProfile:
    return default_user_profile(
        email="sam.okafor@example.org", name=name, username="samokafor", vanityname=vanityname
    )


def _call(fn, /, *args, **kwargs):
    """Run a blocking SDK call off the event loop (the stream keeps being served)."""
    return asyncio.to_thread(fn, *args, **kwargs)


@pytest.fixture
def session(request) -> str:
    return f"stream-{request.node.name}"


# --------------------------------------------------------------------------- websockets


def test_first_frame_is_the_sessions_current_user(specmock_url, session):
    async def main():
        with session_user_api(specmock_url, session) as api:
            snapshot = (await _call(api.user_snapshot)).user
            async with _connect(specmock_url, session) as ws:
                streamed = await _recv_profile(ws)
                assert streamed.id == DEFAULT_USER_ID
                assert streamed == snapshot
                await _assert_quiet(ws)  # nothing changed, nothing sent
                await asyncio.wait_for(ws.close(), RECV_TIMEOUT)
            # A clean close handshake: the mock answers the client's close frame with 1000.
            rcvd = ws.protocol.close_rcvd
            assert rcvd is not None and rcvd.code == 1000, rcvd

    asyncio.run(main())


def test_update_user_is_streamed_to_its_session_and_not_to_another(specmock_url, session):
    other = session + "-other"

    async def main():
        with (
            session_user_api(specmock_url, session) as api,
            session_user_api(specmock_url, other) as other_api,
        ):
            # One stream picks its session with `__session`, the other with the header.
            async with _connect(specmock_url, session) as ws, _connect(
                specmock_url, additional_headers={"X-Mock-Session": other}
            ) as other_ws:
                first = await _recv_profile(ws)
                other_first = await _recv_profile(other_ws)
                assert first.name == other_first.name == "Sam Okafor"

                updated = await _call(api.update_user, user_profile=_profile("Ada Lovelace"))
                assert updated.name == "Ada Lovelace"
                streamed = await _recv_profile(ws)
                assert streamed.name == "Ada Lovelace", streamed.name
                assert streamed == updated

                # The other session's stream saw nothing; its next frame is its own change.
                await _assert_quiet(other_ws)
                mine = await _call(other_api.update_user, user_profile=_profile("Grace Hopper"))
                other_streamed = await _recv_profile(other_ws)
                assert other_streamed.name == "Grace Hopper", other_streamed.name
                assert other_streamed == mine
                await _assert_quiet(ws)

    asyncio.run(main())


def test_vanity_update_is_streamed(specmock_url, session):
    async def main():
        with session_user_api(specmock_url, session) as api:
            async with _connect(specmock_url, session) as ws:
                assert (await _recv_profile(ws)).vanityname == "sam"
                returned = await _call(api.user_update_vanity, user_profile=_profile("x", "ada"))
                streamed = await _recv_profile(ws)
                assert streamed.vanityname == "ada"
                assert streamed == returned

    asyncio.run(main())


def test_clear_user_streams_signed_out_and_select_user_the_profile_again(specmock_url, session):
    async def main():
        with session_user_api(specmock_url, session) as api:
            async with _connect(specmock_url, session) as ws:
                assert (await _recv_profile(ws)).id == DEFAULT_USER_ID

                assert await _call(api.clear_user) is None
                await _recv_signed_out(ws)  # not JSON: UserProfile.from_json refuses it

                # A stream opened now starts signed out too.
                async with _connect(specmock_url, session) as late:
                    await _recv_signed_out(late)

                    # select-user needs the bearer token (the ApiClient's access_token).
                    selected = await _call(api.select_user, auth0_user=github_auth0_user())
                    for stream in (ws, late):
                        streamed = await _recv_profile(stream)
                        assert streamed.id == "github|1234567"
                        assert streamed == selected
                    snapshot = (await _call(api.user_snapshot)).user
                    assert snapshot == selected

    asyncio.run(main())


def test_signed_out_scenario_streams_signed_out_until_select_user(specmock_url, session):
    async def main():
        # The scenario is chosen at the handshake with headers this time.
        headers = {"X-Mock-Session": session, "X-Mock-Scenario": "signed-out"}
        async with _connect(specmock_url, additional_headers=headers) as ws:
            await _recv_signed_out(ws)
            # Same session, same scenario name: the state is kept, not restarted.
            with session_user_api(specmock_url, session, "signed-out") as api:
                assert (await _call(api.user_snapshot)).user is None
                await _assert_quiet(ws)
                selected = await _call(api.select_user, auth0_user=github_auth0_user())
                streamed = await _recv_profile(ws)
                assert streamed.id == "github|1234567"
                assert streamed.email == "sam.okafor@example.org"
                assert streamed == selected

    asyncio.run(main())


def test_stream_drops_after_two_frames_and_a_reconnect_is_live(specmock_url, session):
    async def main():
        async with _connect(specmock_url, session, "stream-drops") as ws:
            first = await _recv_profile(ws)
            second = await _recv_profile(ws)
            assert first == second
            assert first.id == DEFAULT_USER_ID
            with pytest.raises(ConnectionClosedError) as excinfo:
                await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
            # The TCP connection was cut: no close frame came (1006).
            assert excinfo.value.rcvd is None, excinfo.value.rcvd
            assert ws.close_code == 1006, ws.close_code

        # A client that reconnects (same URL, same session) resumes live.
        with session_user_api(specmock_url, session) as api:
            async with _connect(specmock_url, session, "stream-drops") as ws:
                assert await _recv_profile(ws) == first
                updated = await _call(api.update_user, user_profile=_profile("Ada Lovelace"))
                streamed = await _recv_profile(ws)
                assert streamed.name == "Ada Lovelace"
                assert streamed == updated
                await _assert_open(ws)

    asyncio.run(main())


def test_stream_malformed_sends_profile_non_json_then_profile(specmock_url, session):
    async def main():
        async with _connect(specmock_url, session, "stream-malformed") as ws:
            first = await _recv_profile(ws)
            assert first.id == DEFAULT_USER_ID

            broken = await _recv(ws)
            assert _parse(broken) is None, "the malformed frame parsed as a UserProfile"
            assert broken != SIGNED_OUT
            with pytest.raises(json.JSONDecodeError):
                json.loads(broken)

            assert await _recv_profile(ws) == first
            await _assert_open(ws)  # the broken frame did not end the stream

    asyncio.run(main())


# --------------------------------------------------------------------------- SDK AuthWS


def test_sdk_wrapper_cannot_start_against_this_mock_its_connect_is_not_in_the_spec(
    specmock_url,
):
    # Why AuthWS is driven through a stand-in: PiecesClient._startup() (pieces-os-client
    # 5.0.1) calls connector_api.connect (POST /connect) right after finding the port, and
    # the User API has no /connect, so the SDK raises there.
    seeded = SeededConnectorConnection(
        application=SeededTrackedApplication(name="OPEN_SOURCE", platform="LINUX", version="5.0.1")
    )
    with ApiClient(Configuration(host=specmock_url)) as client:
        with pytest.raises(NotFoundException) as excinfo:
            ConnectorApi(client).connect(seeded_connector_connection=seeded)
    exc = excinfo.value
    assert exc.headers.get("X-Mock-Origin") == "router", exc.headers
    assert json.loads(exc.body)["type"] == "urn:specmock:problem:route-not-found", exc.body


class _StandInClient:
    """What AuthWS/BaseWebsocket read from a PiecesClient: `AUTH_WS_URL` and `port`.

    The real PiecesClient cannot start against this mock (its startup POSTs /connect,
    which the User API does not have), so the stream URL is set the way its
    connect_apis() builds it, plus `__session` (websocket-client cannot be given headers
    through AuthWS).
    """

    def __init__(self, base_url: str, session: str, scenario: str | None = None) -> None:
        self.port = str(urlsplit(base_url).port)
        self.AUTH_WS_URL = _ws_url(base_url, session, scenario)


def _forget_auth_ws() -> None:
    """Close and drop the AuthWS singleton and its class-level registrations."""
    instance = AuthWS.__dict__.get("instance")
    if instance is None:
        return
    try:
        _close_auth_ws(instance)
    finally:
        if instance in BaseWebsocket.instances:
            BaseWebsocket.instances.remove(instance)
        BaseWebsocket._initialized_events[:] = [
            e for e in BaseWebsocket._initialized_events if e is not instance._initialized
        ]
        del AuthWS.instance


def _close_auth_ws(auth_ws: AuthWS) -> None:
    """AuthWS.close() (close the socket, join the thread), bounded in time."""
    closer = threading.Thread(target=auth_ws.close, daemon=True)
    closer.start()
    closer.join(RECV_TIMEOUT)
    assert not closer.is_alive(), "AuthWS.close() did not return"
    if auth_ws.thread is not None:
        auth_ws.thread.join(RECV_TIMEOUT)
        assert not auth_ws.thread.is_alive(), "AuthWS thread still running"


@pytest.fixture
def auth_ws_factory(monkeypatch):
    """Start the SDK's AuthWS; yields a factory returning (auth_ws, callback queue, closes)."""
    # BaseWebsocket.run() calls `WebSocketApp.run_forever()` without a ping_timeout, so
    # websocket-client's reader thread waits in select() with a 10 s timeout; AuthWS.close()
    # closes the socket from another thread, which does not wake that select() (Linux), and
    # then joins the thread: close() takes up to 10 s, racily. websocket-client's own advice
    # (issues #317, #916) is a ping_timeout, which only bounds that select() here (no
    # ping_interval, so no pings are sent and no pong is awaited).
    run_forever = websocket.WebSocketApp.run_forever

    def run_forever_with_select_timeout(self, *args, **kwargs):
        kwargs.setdefault("ping_timeout", DISPATCH_POLL_S)
        return run_forever(self, *args, **kwargs)

    monkeypatch.setattr(websocket.WebSocketApp, "run_forever", run_forever_with_select_timeout)
    _forget_auth_ws()  # independent of whatever ran before
    errors: list[BaseException] = []

    def start(client: _StandInClient):
        calls: "queue.Queue[UserProfile | None]" = queue.Queue()
        closes: list[tuple] = []
        auth_ws = AuthWS(
            client,
            calls.put,
            on_error=lambda ws, error: errors.append(error),
            on_close=lambda ws, code, reason: closes.append((code, reason)),
        )
        assert AuthWS.get_instance() is auth_ws
        auth_ws.start()
        assert auth_ws.thread is not None, "AuthWS.start() did not start (no port?)"
        return auth_ws, calls, closes

    yield start
    _forget_auth_ws()
    assert not errors, errors


def _next_call(calls: "queue.Queue[UserProfile | None]"):
    try:
        return calls.get(timeout=RECV_TIMEOUT)
    except queue.Empty:
        pytest.fail(f"AuthWS callback not called within {RECV_TIMEOUT}s")


def _assert_no_call(calls: "queue.Queue[UserProfile | None]") -> None:
    try:
        value = calls.get(timeout=QUIET_S)
    except queue.Empty:
        return
    pytest.fail(f"unexpected AuthWS callback: {value!r}")


def test_sdk_auth_ws_gets_the_user_then_none_after_clear_user(
    specmock_url, session, auth_ws_factory
):
    auth_ws, calls, closes = auth_ws_factory(_StandInClient(specmock_url, session))

    user = _next_call(calls)
    assert isinstance(user, UserProfile), user
    assert user.id == DEFAULT_USER_ID
    assert auth_ws.running  # on_open ran

    with session_user_api(specmock_url, session) as api:
        api.clear_user()
        assert _next_call(calls) is None  # `signed-out`: the SDK's "logged out"

        selected = api.select_user(auth0_user=github_auth0_user())
        again = _next_call(calls)
        assert isinstance(again, UserProfile), again
        assert again == selected

    _close_auth_ws(auth_ws)
    assert not auth_ws.running
    # on_close ran once. Its code is racy inside websocket-client (1000 or None, depending on
    # which of its two threads handles the mock's close frame first), so the mock's 1000
    # answer is checked with `websockets` instead (test_first_frame_is_...).
    assert len(closes) == 1, closes
    _assert_no_call(calls)


def test_sdk_auth_ws_survives_stream_malformed(specmock_url, session, auth_ws_factory):
    auth_ws, calls, _ = auth_ws_factory(
        _StandInClient(specmock_url, session, "stream-malformed")
    )
    first = _next_call(calls)
    assert isinstance(first, UserProfile), first
    assert _next_call(calls) is None  # the broken frame reads as "signed out"
    assert _next_call(calls) == first
    assert auth_ws.thread.is_alive()
    _close_auth_ws(auth_ws)
