"""Interop: what the Pieces Python SDK sent, checked through specmock's journal.

A realistic flow runs through the published SDK (pieces-os-client 5.0.1) `UserApi`, and
the test then asks `POST /__mock/verify`, `GET /__mock/journal` and
`GET /__mock/violations` what arrived: which operations, how often, with which bodies,
and which requests broke the contract.

The session-scoped specmock is shared by the whole suite and its journal holds every
other test's requests too, so every test works in sessions of its own (unique per run,
set as a default header of the SDK's ApiClient) and every verification or journal query
is filtered by session; nothing here reads global counts or clears the journal. The
`--fail-on-violation --report FILE` tests start servers of their own.
"""

from __future__ import annotations

import json
import uuid
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
from conftest import (
    DEFAULT_USER_ID,
    PROBLEM_JSON,
    PROBLEM_URN,
    REQUEST_TIMEOUT_S,
    aesthetics,
    default_user_profile,
    http_request,
    session_user_api,
)
from pieces_os_client.api.user_api import UserApi
from pieces_os_client.exceptions import ApiException, UnauthorizedException
from pieces_os_client.models.auth0_user import Auth0User
from pieces_os_client.models.user_profile import UserProfile
# How many closest calls a failed verification lists (src/verify.rs CLOSEST).
CLOSEST = 5


# --------------------------------------------------------------------------- helpers


def _session(request: pytest.FixtureRequest, tag: str = "") -> str:
    """A session id no other test (or earlier run against the same server) uses."""
    suffix = f"-{tag}" if tag else ""
    return f"verify-{request.node.name}{suffix}-{uuid.uuid4().hex[:8]}"


def _admin(base_url: str, method: str, path: str, payload=None):
    """One admin request; returns (status, headers, parsed JSON body)."""
    body = None if payload is None else json.dumps(payload).encode()
    request_headers = {"Content-Type": "application/json"} if body is not None else {}
    status, headers, raw = http_request(base_url, method, path, body, request_headers)
    return status, headers, json.loads(raw) if raw else None


def _verify(base_url: str, **verification):
    """`POST /__mock/verify`; returns (status, body), checking the shape of either answer."""
    status, headers, body = _admin(base_url, "POST", "/__mock/verify", verification)
    media_type = (headers.get("Content-Type") or "").split(";")[0].strip()
    if status == 200:
        assert media_type == "application/json", headers
        assert body["verified"] is True, body
    elif status == 417:
        assert media_type == PROBLEM_JSON, headers
        assert headers.get("X-Mock-Origin") == "admin", headers
        assert body["type"] == PROBLEM_URN + "verification-failed", body
        assert body["status"] == 417 and body["verified"] is False, body
        assert body["detail"].startswith("expected " + body["expected"]), body
    else:
        pytest.fail(f"POST /__mock/verify {verification}: {status} {body}")
    assert body["matched"] == len(body["entries"]), body
    assert body["journal_rolled_off"] is False, "the suite must stay under --journal-size"
    return status, body


def _journal(base_url: str, **query):
    status, _, body = _admin(base_url, "GET", "/__mock/journal?" + urlencode(query))
    assert status == 200, body
    return body


def _operation_difference(expected: str, entry: dict) -> str:
    return (
        f"operation: expected `{expected}`, received `{entry['operation']}` "
        f"({entry['method']} {entry['target']})"
    )


def _auth0_user() -> Auth0User:
    return Auth0User(
        user_id="github|7654321",
        email="ada.lovelace@example.org",
        email_verified=True,
        name="Ada Lovelace",
        created_at=datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc),
    )


@dataclass
class Flow:
    """What `_sdk_flow` sent, for the assertions."""

    name: str
    vanityname: str
    font_size: int
    auth0_user_id: str
    # (operationId, status) of every request, oldest first.
    calls: list[tuple[str, int]]


def _sdk_flow(api: UserApi) -> Flow:
    """A desktop plugin's sign-in round trip, through the SDK's own models."""
    name, vanityname, font_size = "Ada Lovelace", "ada-l", 18
    calls = []

    snapshot = api.user_snapshot()
    assert snapshot.user is not None and snapshot.user.id == DEFAULT_USER_ID
    calls.append(("user-snapshot", 200))

    # The profile as the plugin got it, with the name and the font size changed.
    profile = snapshot.user.model_copy(
        update={"name": name, "aesthetics": aesthetics(dark=True, size=font_size)}
    )
    updated = api.update_user(user_profile=profile)
    assert isinstance(updated, UserProfile) and updated.name == name, updated
    calls.append(("update-user", 200))

    renamed = api.user_update_vanity(
        user_profile=default_user_profile(vanityname=vanityname)
    )
    assert renamed.vanityname == vanityname, renamed
    calls.append(("user-update-vanity", 200))

    auth0_user = _auth0_user()
    selected = api.select_user(auth0_user=auth0_user)  # bearer token from the Configuration
    assert isinstance(selected, UserProfile), type(selected)
    calls.append(("select-user", 200))

    assert api.clear_user() is None
    calls.append(("clear-user", 204))

    assert api.user_snapshot().user is None, "clear_user signed the session out"
    calls.append(("user-snapshot", 200))
    return Flow(name, vanityname, font_size, auth0_user.user_id, calls)


@pytest.fixture
def flow(specmock_url, request):
    """A fresh session that has run `_sdk_flow`: (session, Flow)."""
    session = _session(request)
    with session_user_api(specmock_url, session) as api:
        return session, _sdk_flow(api)


# --------------------------------------------------------------------------- verify: holds


def test_journal_records_the_sdk_flow_in_order(specmock_url, flow):
    session, sent = flow
    page = _journal(specmock_url, session=session)
    assert page["matched"] == len(sent.calls), page
    entries = list(reversed(page["entries"]))  # newest first on the wire
    assert [(e["operation"], e["status"]) for e in entries] == sent.calls, entries
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries), entries
    for entry in entries:
        assert entry["session"] == session and entry["kind"] == "request", entry
        assert entry["violations"] == [], entry
    assert entries[1]["method"] == "POST" and entries[1]["target"] == "/user/update", entries[1]
    assert entries[1]["body"]["name"] == sent.name, entries[1]
    assert entries[4]["body"] is None, "clear_user sends no body"


def test_update_user_was_sent_once_with_the_changed_profile(specmock_url, flow):
    session, sent = flow
    status, verdict = _verify(
        specmock_url,
        operation="update-user",
        session=session,
        body={"name": sent.name, "aesthetics": {"font": {"size": sent.font_size}}},
        count=1,
    )
    assert status == 200 and verdict["matched"] == 1, verdict
    (entry,) = verdict["entries"]
    assert (entry["session"], entry["method"], entry["target"]) == (session, "POST", "/user/update")
    assert entry["operation"] == "update-user" and entry["status"] == 200, entry
    # The SDK sent the whole profile it had read, not just the changed fields.
    assert entry["body"]["id"] == DEFAULT_USER_ID, entry["body"]
    assert "exactly 1 call of `update-user`" in verdict["expected"], verdict
    assert f"in session `{session}`" in verdict["expected"], verdict

    for bound in ({"at_most": 1}, {"at_least": 1}):
        status, verdict = _verify(specmock_url, operation="update-user", session=session, **bound)
        assert (status, verdict["matched"]) == (200, 1), (bound, verdict)


def test_vanity_select_and_clear_were_sent(specmock_url, flow):
    session, sent = flow
    # `METHOD /path` works as well as the operationId.
    status, verdict = _verify(
        specmock_url,
        operation="POST /user/update/vanity",
        session=session,
        body={"vanityname": sent.vanityname},
        at_least=1,
    )
    assert status == 200 and verdict["matched"] == 1, verdict
    assert verdict["entries"][0]["operation"] == "user-update-vanity", verdict

    # The bearer token was accepted: the recorded select-user call got its 200.
    status, verdict = _verify(
        specmock_url,
        operation="select-user",
        session=session,
        body={"user_id": sent.auth0_user_id},
        count=1,
    )
    assert status == 200, verdict
    assert verdict["entries"][0]["status"] == 200, verdict
    assert verdict["entries"][0]["violations"] == [], verdict

    # No count at all means "at least once".
    status, verdict = _verify(specmock_url, operation="clear-user", session=session)
    assert status == 200 and verdict["matched"] == 1, verdict
    assert verdict["expected"].startswith("at least 1 call of `clear-user`"), verdict
    assert verdict["entries"][0]["status"] == 204, verdict

    status, verdict = _verify(specmock_url, operation="user-snapshot", session=session, count=2)
    assert status == 200, verdict


# --------------------------------------------------------------------------- verify: fails


def test_a_call_never_made_verifies_with_count_zero(specmock_url, flow):
    session, _ = flow
    status, verdict = _verify(specmock_url, operation="user-beta-status", session=session, count=0)
    assert (status, verdict["matched"], verdict["entries"]) == (200, 0, []), verdict
    status, verdict = _verify(specmock_url, operation="GET /user/refresh", session=session, at_most=0)
    assert status == 200, verdict


def test_a_call_never_made_fails_at_least_one_with_the_calls_made_instead(specmock_url, flow):
    session, sent = flow
    status, problem = _verify(
        specmock_url, operation="user-beta-status", session=session, at_least=1
    )
    assert status == 417, problem
    assert problem["matched"] == 0 and problem["entries"] == [], problem
    assert problem["expected"] == (
        f"at least 1 call of `user-beta-status` in session `{session}`"
    ), problem
    # Other tests' sessions may have made the call: the detail then says so.
    assert problem["detail"].startswith(f"expected {problem['expected']}; 0 matched"), problem

    closest = problem["closest"]
    assert len(closest) == CLOSEST, closest
    # The session's own calls, newest first: each differs by its operation only.
    made = list(reversed(sent.calls))[:CLOSEST]
    assert [(n["entry"]["operation"], n["entry"]["status"]) for n in closest] == made, closest
    for near in closest:
        entry = near["entry"]
        assert entry["session"] == session, near
        assert near["differences"] == [_operation_difference("user-beta-status", entry)], near
    assert closest[0]["differences"] == [
        "operation: expected `user-beta-status`, received `user-snapshot` (GET /user)"
    ], closest[0]


def test_a_count_that_does_not_hold_lists_the_matches_not_the_closest(specmock_url, flow):
    session, _ = flow
    status, problem = _verify(specmock_url, operation="user-snapshot", session=session, count=1)
    assert status == 417, problem
    assert problem["matched"] == 2, problem
    assert [e["operation"] for e in problem["entries"]] == ["user-snapshot"] * 2, problem
    assert problem["expected"] == f"exactly 1 call of `user-snapshot` in session `{session}`"
    assert problem.get("closest", []) == [], "the matches themselves are the evidence"

    status, problem = _verify(specmock_url, operation="update-user", session=session, at_most=0)
    assert (status, problem["matched"]) == (417, 1), problem


def test_a_body_that_does_not_match_names_the_field(specmock_url, flow):
    session, sent = flow
    status, problem = _verify(
        specmock_url,
        operation="user-update-vanity",
        session=session,
        body={"vanityname": "x"},
        count=1,
    )
    assert status == 417 and problem["matched"] == 0, problem
    assert problem["expected"] == (
        f'exactly 1 call of `user-update-vanity` in session `{session}` '
        f'with a body containing {{"vanityname":"x"}}'
    ), problem
    nearest = problem["closest"][0]
    assert nearest["entry"]["operation"] == "user-update-vanity", nearest
    assert nearest["entry"]["session"] == session, nearest
    assert nearest["differences"] == [
        f'/body/vanityname: expected "x", received "{sent.vanityname}"'
    ], nearest
    # Every other call listed differs in more than that one field.
    for near in problem["closest"][1:]:
        assert len(near["differences"]) >= 2, near

    # Nested fields and absent fields are named by their full pointer.
    status, problem = _verify(
        specmock_url,
        operation="update-user",
        session=session,
        body={"aesthetics": {"theme": {"dark": False}, "font": {"size": sent.font_size}}, "plan": "pro"},
    )
    assert status == 417, problem
    # Calls of the verified operation in the verified session are listed first; other
    # sessions' update-user calls may follow.
    (update,) = [
        n
        for n in problem["closest"]
        if n["entry"]["operation"] == "update-user" and n["entry"]["session"] == session
    ]
    assert sorted(update["differences"]) == sorted(
        [
            "/body/aesthetics/theme/dark: expected false, received true",
            '/body/plan: expected "pro", missing',
        ]
    ), update


def test_the_call_of_the_verified_operation_is_listed_first_in_closest(specmock_url, request):
    session = _session(request)
    with session_user_api(specmock_url, session) as api:
        _sdk_flow(api)
        api.user_providers()
        api.user_snapshot()
    status, problem = _verify(
        specmock_url,
        operation="update-user",
        session=session,
        body={"name": "Grace Hopper", "username": "grace", "aesthetics": {"theme": {"dark": False}}},
    )
    assert status == 417 and problem["matched"] == 0, problem
    listed = [(n["entry"]["operation"], n["differences"]) for n in problem["closest"]]
    assert listed and listed[0][0] == "update-user", listed


def test_another_sessions_calls_are_not_counted(specmock_url, request):
    mine, theirs = _session(request, "mine"), _session(request, "theirs")
    vanity = f"v{uuid.uuid4().hex[:10]}"  # this test's own: global counts stay meaningful
    profile = default_user_profile(vanityname=vanity)
    with session_user_api(specmock_url, mine) as api:
        api.user_update_vanity(user_profile=profile)
    with session_user_api(specmock_url, theirs) as api:
        api.user_update_vanity(user_profile=profile)
        api.user_update_vanity(user_profile=profile)
        api.user_snapshot()

    check = {"operation": "user-update-vanity", "body": {"vanityname": vanity}}
    assert _verify(specmock_url, session=mine, count=1, **check)[0] == 200
    assert _verify(specmock_url, session=theirs, count=2, **check)[0] == 200
    # Without a session, every session's calls count.
    assert _verify(specmock_url, count=3, **check)[0] == 200

    status, problem = _verify(specmock_url, session=mine, count=3, **check)
    assert status == 417 and problem["matched"] == 1, problem
    assert {e["session"] for e in problem["entries"]} == {mine}, problem

    status, problem = _verify(specmock_url, operation="user-snapshot", session=mine)
    assert status == 417 and problem["matched"] == 0, problem
    # The session's own calls come first; the call made in the wrong session
    # is listed too, says so, and the detail points at the session header.
    assert problem["closest"][0]["entry"]["session"] == mine, problem["closest"]
    assert problem["in_other_sessions"] >= 1, problem
    assert "X-Mock-Session" in problem["detail"], problem
    (nearest,) = [n for n in problem["closest"] if n["entry"]["session"] == theirs]
    assert nearest["entry"]["operation"] == "user-snapshot", nearest
    assert nearest["differences"] == [f"session: expected `{mine}`, received `{theirs}`"], nearest


def test_malformed_verifications_are_400(specmock_url):
    for payload, needle in (
        ({"operation": "update-user", "count": 1, "at_least": 1}, "not both"),
        ({"operation": "update-user", "at_least": 3, "at_most": 1}, "greater than `at_most`"),
        ({"operation": "no-such-operation"}, "unknown operation `no-such-operation`"),
        ({"operation": "update-user", "times": 1}, "times"),
        ({"session": "x"}, "operation"),
    ):
        status, headers, problem = _admin(specmock_url, "POST", "/__mock/verify", payload)
        assert status == 400, (payload, problem)
        assert headers.get("Content-Type", "").startswith(PROBLEM_JSON), headers
        assert problem["type"] == PROBLEM_URN + "admin-bad-request", problem
        assert needle in problem["detail"], (payload, problem["detail"])


# --------------------------------------------------------------------------- violations


def _invalid_profile() -> UserProfile:
    """A UserProfile the SDK serializes without validating: `id` is an integer."""
    return UserProfile.model_construct(id=5, vanityname="broken", aesthetics=aesthetics())


def test_sdk_invalid_bodies_show_up_as_violations(specmock_url, request):
    session = _session(request)
    with session_user_api(specmock_url, session) as api:
        api.user_snapshot()  # a valid call, which must not be listed
        with warnings.catch_warnings():
            # pydantic warns that `id` is not a str while serializing: that is the point.
            warnings.simplefilter("ignore")
            with pytest.raises(ApiException) as excinfo:
                api.update_user(user_profile=_invalid_profile())
        assert excinfo.value.status == 400, excinfo.value

        # The raw client: the nested font size as a string.
        client = api.api_client
        method, url, headers, body, post_params = client.param_serialize(
            method="POST",
            resource_path="/user/update/vanity",
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            body={
                "id": DEFAULT_USER_ID,
                "vanityname": "ada",
                "aesthetics": {"theme": {"dark": True}, "font": {"size": "14"}},
            },
        )
        response = client.call_api(
            method, url, headers, body, post_params, _request_timeout=REQUEST_TIMEOUT_S
        )
        response.read()
        assert response.status == 400, response.data

    page = _journal(specmock_url, session=session, violating="true")
    assert page["matched"] == 2, page
    vanity, update = page["entries"]  # newest first
    assert (update["operation"], update["status"]) == ("update-user", 400), update
    assert update["body"]["id"] == 5, update
    assert [v["pointer"] for v in update["violations"]] == ["/body/id"], update
    assert update["violations"][0]["rule"] == "type", update
    assert (vanity["operation"], vanity["status"]) == ("user-update-vanity", 400), vanity
    assert [v["pointer"] for v in vanity["violations"]] == ["/body/aesthetics/font/size"], vanity

    # The other filters combine with it.
    only_update = _journal(specmock_url, session=session, violating="true", operation="update-user")
    assert [e["id"] for e in only_update["entries"]] == [update["id"]], only_update
    assert _journal(specmock_url, session=session, status=400)["matched"] == 2
    assert _journal(specmock_url, session=session, violating="false")["matched"] == 3

    status, _, violations = _admin(specmock_url, "GET", "/__mock/violations")
    assert status == 200, violations
    ours = [e for e in violations["entries"] if e["session"] == session]
    assert sorted(e["id"] for e in ours) == sorted([update["id"], vanity["id"]]), ours
    assert {v["pointer"] for e in ours for v in e["violations"]} == {
        "/body/id",
        "/body/aesthetics/font/size",
    }, ours
    for operation in ("update-user", "user-update-vanity"):
        tally = violations["by_operation"][operation]
        assert 1 <= tally["violating_calls"] <= tally["calls"], (operation, tally)
    assert violations["violating_requests"] <= violations["total_requests"], violations

    # A refused call does not verify the client: it is listed beside the verdict instead,
    # with its violations, and counts when the verification asks for refused calls.
    status, verdict = _verify(specmock_url, operation="update-user", session=session, body={"id": 5})
    assert status == 417 and verdict["matched"] == 0, verdict
    assert verdict["refused"] == 1 and verdict["refused_entries"][0]["violations"], verdict
    assert "refused: 1 (" in verdict["detail"], verdict
    status, verdict = _verify(
        specmock_url, operation="update-user", session=session, body={"id": 5}, refused=True
    )
    assert status == 200 and verdict["entries"][0]["violations"], verdict


def test_select_user_without_a_token_is_a_security_violation(specmock_url, request):
    session = _session(request)
    with session_user_api(specmock_url, session, token=None) as api:
        with pytest.raises(UnauthorizedException):
            api.select_user(auth0_user=_auth0_user())
    (entry,) = _journal(specmock_url, session=session, violating="true")["entries"]
    assert (entry["operation"], entry["status"]) == ("select-user", 401), entry
    assert [(v["pointer"], v["rule"]) for v in entry["violations"]] == [
        ("/header/authorization", "security")
    ], entry


def test_journal_pages_newest_first(specmock_url, flow):
    session, sent = flow
    first = _journal(specmock_url, session=session, limit=4)
    assert first["matched"] == len(sent.calls) and len(first["entries"]) == 4, first
    assert first["next_offset"] == 4, first
    rest = _journal(specmock_url, session=session, limit=4, offset=first["next_offset"])
    assert rest["next_offset"] is None, rest
    ids = [e["id"] for e in first["entries"] + rest["entries"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(sent.calls), ids
    assert first["total"] >= first["retained"] >= len(sent.calls), first
    malformed = (
        {"violating": "yes"},
        {"limit": "many"},
        {"status": "ok"},
        {"since": "yesterday"},
        {"sesion": session},
    )
    for bad in malformed:
        status, _, problem = _admin(specmock_url, "GET", "/__mock/journal?" + urlencode(bad))
        assert status == 400, (bad, problem)
        assert problem["type"] == PROBLEM_URN + "admin-bad-request", (bad, problem)


# --------------------------------------------------------------------------- shutdown verdict


def _report_cases(path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {case.get("name"): case for case in root.iter("testcase")}


def test_fail_on_violation_exits_1_and_reports_the_sdks_invalid_request(spawn_specmock, tmp_path, request):
    report = tmp_path / "contract.xml"
    server = spawn_specmock("--fail-on-violation", "--report", str(report))
    with session_user_api(server.url, _session(request)) as api:
        api.user_snapshot()
        api.update_user(user_profile=default_user_profile())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ApiException):
                api.update_user(user_profile=_invalid_profile())

    code = server.stop()
    stderr = server.stderr_tail()
    assert code == 1, f"exit {code}\n{stderr}"
    assert "3 requests, 1 broke the contract" in stderr, stderr
    assert "update-user: 1 of 2 calls" in stderr, stderr

    cases = _report_cases(report)
    assert set(cases) == {"update-user", "user-snapshot"}, cases
    failure = cases["update-user"].find("failure")
    assert failure is not None, ET.tostring(cases["update-user"])
    assert failure.get("message") == "1 of 2 calls broke the contract", failure.attrib
    assert "/body/id (type)" in (failure.text or ""), failure.text
    assert cases["user-snapshot"].find("failure") is None
    root = ET.parse(report).getroot()
    assert (root.get("tests"), root.get("failures")) == ("2", "1"), root.attrib


def test_fail_on_violation_exits_0_when_the_sdk_kept_the_contract(spawn_specmock, tmp_path, request):
    report = tmp_path / "contract.xml"
    server = spawn_specmock("--fail-on-violation", "--report", str(report))
    with session_user_api(server.url, _session(request)) as api:
        _sdk_flow(api)
    code = server.stop()
    assert code == 0, f"exit {code}\n{server.stderr_tail()}"
    cases = _report_cases(report)
    assert set(cases) == {"user-snapshot", "update-user", "user-update-vanity", "select-user", "clear-user"}
    assert all(case.find("failure") is None for case in cases.values()), ET.tostring(
        ET.parse(report).getroot()
    )
