"""Interop: the published Pieces Python SDK (pieces-os-client 5.0.1) against specmock.

Every User API operation is called through the SDK's own generated client and
models; the error cases go through the SDK's raw client (param_serialize/call_api)
or http.client when the SDK cannot produce the bytes (invalid JSON, HEAD, ...).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from conftest import (
    PROBLEM_JSON,
    PROBLEM_URN,
    REQUEST_TIMEOUT_S,
    http_request,
    session_user_api,
)
from pieces_os_client.exceptions import ApiException, UnauthorizedException
from pieces_os_client.models.aesthetics import Aesthetics
from pieces_os_client.models.anonymous_temporal_range import AnonymousTemporalRange
from pieces_os_client.models.auth0_identity import Auth0Identity
from pieces_os_client.models.auth0_user import Auth0User
from pieces_os_client.models.auth0_user_beta_status import Auth0UserBetaStatus
from pieces_os_client.models.font import Font
from pieces_os_client.models.grouped_timestamp import GroupedTimestamp
from pieces_os_client.models.returned_user_profile import ReturnedUserProfile
from pieces_os_client.models.theme import Theme
from pieces_os_client.models.user_beta_status import UserBetaStatus
from pieces_os_client.models.user_profile import UserProfile


# --------------------------------------------------------------------------- fixtures


# The shipped `default` scenario is stateful (clear_user signs the session's user
# out), so every test runs in a session of its own, named after the test.


@pytest.fixture
def user_api(specmock_url, request):
    with session_user_api(specmock_url, request.node.name) as api:
        yield api


@pytest.fixture
def api_client(user_api):
    return user_api.api_client


@pytest.fixture
def anonymous_user_api(specmock_url, request):
    with session_user_api(specmock_url, request.node.name, token=None) as api:
        yield api


def _ts(iso: str) -> GroupedTimestamp:
    value = datetime.fromisoformat(iso).replace(tzinfo=timezone.utc)
    return GroupedTimestamp(value=value, readable=value.strftime("%B %d %Y, %H:%M"))


@pytest.fixture
def user_profile() -> UserProfile:
    return UserProfile(
        id="c41e9a7d-2f63-4b8e-a915-6d0b3e72f8c4",
        email="sam.okafor@example.org",
        name="Sam Okafor",
        username="samokafor",
        vanityname="sam",
        picture="https://cdn.example.org/avatars/samokafor.jpg",
        created=_ts("2023-11-06T10:15:42"),
        updated=_ts("2025-06-10T07:48:03"),
        aesthetics=Aesthetics(theme=Theme(dark=True), font=Font(size=14)),
    )


@pytest.fixture
def auth0_user() -> Auth0User:
    return Auth0User(
        user_id="github|1234567",
        email="sam.okafor@example.org",
        email_verified=True,
        name="Sam Okafor",
        given_name="Sam",
        family_name="Okafor",
        nickname="samokafor",
        username="samokafor",
        picture="https://cdn.example.org/avatars/samokafor.jpg",
        locale="en",
        logins_count=42,
        created_at=datetime(2023, 11, 6, 10, 15, 42, tzinfo=timezone.utc),
        updated_at=datetime(2025, 6, 10, 7, 48, 3, tzinfo=timezone.utc),
        last_login=datetime(2025, 6, 10, 7, 48, 3, tzinfo=timezone.utc),
        identities=[
            Auth0Identity(
                provider="github",
                user_id="1234567",
                connection="github",
                isSocial=True,
            )
        ],
    )


# --------------------------------------------------------------------------- helpers


def _assert_sane_profile(profile) -> None:
    assert isinstance(profile, UserProfile), type(profile)
    assert isinstance(profile.id, str) and profile.id.strip()
    assert isinstance(profile.aesthetics, Aesthetics)
    assert isinstance(profile.aesthetics.theme.dark, bool)
    assert isinstance(profile.aesthetics.font.size, int)


def _assert_problem(status, headers, body, *, expected_status: int, kind: str) -> dict:
    media_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    assert status == expected_status, (status, body)
    assert media_type == PROBLEM_JSON, headers.get("Content-Type")
    assert headers.get("X-Mock-Origin") in ("router", "validator"), headers.get("X-Mock-Origin")
    problem = json.loads(body)
    assert problem["type"] == PROBLEM_URN + kind, problem
    assert problem["status"] == expected_status, problem
    assert isinstance(problem["title"], str) and problem["title"], problem
    assert isinstance(problem["detail"], str) and problem["detail"], problem
    return problem


def _violation_names(violations, pointer: str, name: str) -> bool:
    """True if a violation points at pointer/name, or at pointer mentioning name."""
    for v in violations:
        if v["pointer"] == f"{pointer}/{name}":
            return True
        if v["pointer"] == pointer and re.search(rf"\b{re.escape(name)}\b", v["message"]):
            return True
    return False


# --------------------------------------------------------------------------- happy path


def test_health_answers_get_and_head_with_text_plain(specmock_url):
    for method in ("GET", "HEAD"):
        status, headers, _ = http_request(specmock_url, method, "/.well-known/health")
        assert status == 200, method
        assert headers.get("Content-Type", "").startswith("text/plain"), method


def test_clear_user_returns_none_with_204(user_api):
    assert user_api.clear_user() is None
    assert user_api.clear_user_with_http_info().status_code == 204


def test_clear_user_signs_the_session_out_and_update_user_signs_it_back_in(user_api, user_profile):
    assert user_api.user_snapshot().user is not None
    assert user_api.clear_user() is None
    assert user_api.user_snapshot().user is None
    updated = user_api.update_user(user_profile=user_profile)
    assert updated.id == user_profile.id
    assert user_api.user_snapshot().user.id == user_profile.id
    assert user_api.refresh_user().id == user_profile.id


def test_refresh_user_returns_user_profile(user_api):
    _assert_sane_profile(user_api.refresh_user())


def test_select_user_with_token_and_auth0_user_returns_user_profile(user_api, auth0_user):
    _assert_sane_profile(user_api.select_user(auth0_user=auth0_user))


def test_stream_user_over_plain_http_is_426_upgrade_required(user_api):
    # `stream-user` is `x-websocket: true`: the SDK's generated `stream_user` sends a plain
    # GET, which the spec answers 426 (problem+json, `Upgrade: websocket`). The stream itself
    # is covered in test_stream.py.
    with pytest.raises(ApiException) as excinfo:
        user_api.stream_user()
    exc = excinfo.value
    assert type(exc) is ApiException, type(exc)  # the SDK has no subclass for 426
    problem = _assert_problem(
        exc.status, exc.headers, exc.body.encode(), expected_status=426, kind="upgrade-required"
    )
    assert exc.headers.get("Upgrade", "").lower() == "websocket", exc.headers
    assert problem["instance"] == "/user/stream", problem


def test_update_user_with_full_profile_returns_user_profile(user_api, user_profile):
    _assert_sane_profile(user_api.update_user(user_profile=user_profile))


def test_update_user_without_body_is_accepted(user_api):
    # The SDK then sends `Content-Type: application/json` with an empty body.
    response = user_api.update_user_with_http_info()
    assert response.status_code == 200
    _assert_sane_profile(response.data)


def test_user_beta_status_returns_user_beta_status(user_api):
    request = UserBetaStatus(
        user="c41e9a7d-2f63-4b8e-a915-6d0b3e72f8c4",
        auth0=Auth0UserBetaStatus(vision=AnonymousTemporalRange(continuous=True)),
    )
    status = user_api.user_beta_status(user_beta_status=request)
    assert isinstance(status, UserBetaStatus), type(status)
    assert isinstance(status.user, str) and status.user.strip()


def test_user_providers_returns_returned_user_profile(user_api):
    returned = user_api.user_providers()
    assert isinstance(returned, ReturnedUserProfile), type(returned)
    if returned.user is not None:
        _assert_sane_profile(returned.user)


def test_user_snapshot_returns_signed_in_user_with_id(user_api):
    snapshot = user_api.user_snapshot()
    assert isinstance(snapshot, ReturnedUserProfile), type(snapshot)
    assert snapshot.user is not None, "GET /user returned no user"
    _assert_sane_profile(snapshot.user)


def test_user_update_vanity_returns_user_profile(user_api, user_profile):
    _assert_sane_profile(user_api.user_update_vanity(user_profile=user_profile))


# --------------------------------------------------------------------------- errors


def test_update_user_schema_violations_are_reported_as_problem_json(api_client):
    method, url, headers, body, post_params = api_client.param_serialize(
        method="POST",
        resource_path="/user/update",
        header_params={"Content-Type": "application/json", "Accept": "application/json"},
        body={"id": 5, "aesthetics": {"theme": {}}},
    )
    response = api_client.call_api(
        method, url, headers, body, post_params, _request_timeout=REQUEST_TIMEOUT_S
    )
    response.read()
    problem = _assert_problem(
        response.status, response.getheaders(), response.data,
        expected_status=400, kind="invalid-request",
    )
    assert response.getheader("X-Mock-Origin") == "validator"

    violations = problem["violations"]
    assert isinstance(violations, list) and violations, problem
    for v in violations:
        assert v["pointer"].startswith("/body"), v
        assert isinstance(v["rule"], str) and v["rule"], v
        assert isinstance(v["message"], str) and v["message"], v
    pointers = {v["pointer"] for v in violations}
    assert "/body/id" in pointers, violations
    assert "/body/aesthetics/theme" in pointers or _violation_names(
        violations, "/body/aesthetics/theme", "dark"
    ), violations
    assert _violation_names(violations, "/body/aesthetics", "font"), violations


def test_update_user_invalid_json_syntax_is_malformed_body_with_position(specmock_url):
    body = b'{\n  "id": "u1",\n  "aesthetics": }\n'
    status, headers, raw = http_request(
        specmock_url, "POST", "/user/update", body,
        {"Content-Type": "application/json", "Accept": "application/json"},
    )
    problem = _assert_problem(status, headers, raw, expected_status=400, kind="malformed-body")
    assert headers.get("X-Mock-Origin") == "validator"
    detail = problem["detail"].lower()
    assert re.search(r"line\D{0,3}3\b", detail), problem["detail"]
    assert re.search(r"col(umn)?\D{0,3}\d+", detail), problem["detail"]


def test_select_user_without_access_token_is_401_with_www_authenticate(
    anonymous_user_api, auth0_user
):
    with pytest.raises(UnauthorizedException) as excinfo:
        anonymous_user_api.select_user(auth0_user=auth0_user)
    exc = excinfo.value
    assert exc.status == 401
    assert exc.headers.get("WWW-Authenticate"), exc.headers
    _assert_problem(
        exc.status, exc.headers, exc.body.encode(), expected_status=401, kind="unauthorized"
    )


def test_unknown_route_is_404_route_not_found(specmock_url):
    status, headers, body = http_request(specmock_url, "GET", "/user/does-not-exist")
    _assert_problem(status, headers, body, expected_status=404, kind="route-not-found")
    assert headers.get("X-Mock-Origin") == "router"


def test_wrong_method_is_405_with_allow_header(specmock_url):
    status, headers, body = http_request(specmock_url, "GET", "/user/update")
    _assert_problem(status, headers, body, expected_status=405, kind="method-not-allowed")
    assert headers.get("X-Mock-Origin") == "router"
    allowed = {m.strip().upper() for m in headers.get("Allow", "").split(",")}
    assert "POST" in allowed, headers.get("Allow")


def test_update_user_with_text_plain_body_is_415(specmock_url):
    status, headers, body = http_request(
        specmock_url, "POST", "/user/update", b"hello", {"Content-Type": "text/plain"}
    )
    _assert_problem(status, headers, body, expected_status=415, kind="unsupported-media-type")
