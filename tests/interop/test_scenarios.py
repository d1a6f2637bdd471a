"""Interop: shipped scenarios driven through the Pieces Python SDK (pieces-os-client 5.0.1).

The session fixture runs ONE specmock binary for the whole suite, so every test here
works in its own `X-Mock-Session` (set as a default header of its own ApiClient) and
chooses its scenario with `X-Mock-Scenario`; the other tests' sessions, including the
default one, never see these scenarios.
"""

from __future__ import annotations

import pytest
from conftest import DEFAULT_USER_ID, default_user_profile, github_auth0_user, session_user_api
from pieces_os_client.exceptions import ApiException, ConflictException, ServiceException
from pieces_os_client.models.returned_user_profile import ReturnedUserProfile
from pieces_os_client.models.user_beta_status import UserBetaStatus
from pieces_os_client.models.user_profile import UserProfile

# The spec's own `SignedInUser` example, which `Prefer` answers with.
SPEC_USER_ID = "0b6f3c2e-8d41-4a7e-9c25-3f1e7d9a4b60"


def _vanity_update(vanityname: str = "mark") -> UserProfile:
    return default_user_profile(vanityname=vanityname)


def _assert_scripted_error(exc: ApiException, status: int, text: str) -> None:
    assert exc.status == status, exc
    assert exc.body == text, exc.body
    assert exc.headers.get("Content-Type", "").startswith("text/plain"), exc.headers
    # Scripted answers are the API's own errors, not the mock's.
    assert exc.headers.get("X-Mock-Origin") is None, exc.headers


def test_vanity_taken_conflicts_once_then_updates(specmock_url):
    with session_user_api(specmock_url, "interop-vanity-taken", "vanity-taken") as api:
        with pytest.raises(ConflictException) as excinfo:
            api.user_update_vanity(user_profile=_vanity_update())
        _assert_scripted_error(excinfo.value, 409, "conflict: the vanity name is already taken")

        profile = api.user_update_vanity(user_profile=_vanity_update())
        assert isinstance(profile, UserProfile), type(profile)
        assert (profile.id, profile.vanityname) == (DEFAULT_USER_ID, "mark")
        # The retry was stored, and later updates keep succeeding.
        assert api.user_snapshot().user.vanityname == "mark"
        assert api.user_update_vanity(user_profile=_vanity_update("ada")).vanityname == "ada"


def test_prefer_overrides_one_call_without_advancing_vanity_taken(specmock_url):
    with session_user_api(specmock_url, "interop-vanity-prefer", "vanity-taken") as api:
        forced = api.user_update_vanity(
            user_profile=_vanity_update(), _headers={"Prefer": "code=200"}
        )
        assert isinstance(forced, UserProfile), type(forced)
        assert forced.id == SPEC_USER_ID, "the spec's own 200"
        with pytest.raises(ConflictException) as excinfo:
            api.user_update_vanity(user_profile=_vanity_update())
        _assert_scripted_error(excinfo.value, 409, "conflict: the vanity name is already taken")


def test_signed_out_until_select_user(specmock_url):
    auth_text = "network authentication required: sign in to Pieces first"
    with session_user_api(specmock_url, "interop-signed-out", "signed-out") as api:
        snapshot = api.user_snapshot()
        assert isinstance(snapshot, ReturnedUserProfile), type(snapshot)
        assert snapshot.user is None, snapshot

        with pytest.raises(ServiceException) as excinfo:
            api.user_update_vanity(user_profile=_vanity_update())
        _assert_scripted_error(excinfo.value, 511, auth_text)

        with pytest.raises(ServiceException) as excinfo:
            api.user_beta_status(user_beta_status=UserBetaStatus(user="c41e9a7d"))
        _assert_scripted_error(excinfo.value, 511, auth_text)

        with pytest.raises(ServiceException) as excinfo:
            api.refresh_user()
        _assert_scripted_error(excinfo.value, 500, "internal server error: no user is signed in")

        selected = api.select_user(auth0_user=github_auth0_user())
        assert isinstance(selected, UserProfile), type(selected)
        assert (selected.id, selected.email) == ("github|1234567", "sam.okafor@example.org")

        snapshot = api.user_snapshot()
        assert snapshot.user is not None, snapshot
        assert snapshot.user.id == "github|1234567"
        assert api.user_update_vanity(user_profile=_vanity_update()).vanityname == "mark"
        assert api.refresh_user().vanityname == "mark"


def test_scenario_sessions_do_not_leak_into_other_sessions(specmock_url):
    with session_user_api(specmock_url, "interop-leak-signed-out", "signed-out") as signed_out:
        assert signed_out.user_snapshot().user is None
        with session_user_api(specmock_url, "interop-leak-fresh") as fresh:
            # A new session starts in `default`: signed in, vanity updates succeed.
            assert fresh.user_snapshot().user.id == DEFAULT_USER_ID
            assert fresh.user_update_vanity(user_profile=_vanity_update()).vanityname == "mark"
        assert signed_out.user_snapshot().user is None


def test_unknown_scenario_is_the_mocks_400(specmock_url):
    with session_user_api(specmock_url, "interop-unknown-scenario", "vanity-takne") as api:
        with pytest.raises(ApiException) as excinfo:
            api.user_snapshot()
    exc = excinfo.value
    assert exc.status == 400, exc
    assert exc.headers.get("X-Mock-Origin") == "scenario", exc.headers
    assert "urn:specmock:problem:unknown-scenario" in exc.body, exc.body
