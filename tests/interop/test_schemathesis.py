"""Interop: schemathesis, a property-based API tester, against specmock.

schemathesis (its CLI, pinned in requirements.txt) reads the shipped openapi.yaml and sends
requests generated from it to a specmock of this module's own, which serves the same
openapi.yaml, fixtures and scenarios (a few hundred requests would crowd the shared
server's journal, which test_verify.py reads). Every answer must keep to that document: a
declared status, a declared content type, the declared response schema and headers. Two
runs, side by side:

- valid requests (positive mode): answered within the spec, and the mock's own validator
  finds nothing wrong with any of them (its journal lists no violation);
- requests that break the spec (negative mode): refused by the mock's validator, with one of
  the statuses it answers such requests with (its own problems, outside the API's contract).

Every HTTP operation of the spec takes part, `stream-user` too: it is a WebSocket, and a
plain GET there gets the 426 the spec declares for it. Each operation has a session of its
own in each run (`X-Mock-Session`), so what one does to the `default` scenario's state
(clear-user signs its session out) never reaches another; with deterministic generation and
a fixed number of examples, every run sends the same requests.

Each run is one schemathesis process; its JUnit report (a test case per operation) is read
back, so every operation passes or fails on its own. A failure shows schemathesis's report,
with a curl command that reproduces the request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from conftest import REPO_ROOT, http_request, running_specmock

SPEC = REPO_ROOT / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What every answer to a valid request is held to: the operation's declared contract.
CONFORMANCE_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
# A request that breaks the spec is outside the API's contract, so the answer is too: the
# mock's validator refuses it with a problem of its own (README: Mock-made errors, marked
# `X-Mock-Origin`), which the Pieces API does not declare and this spec keeps faithful to.
# What counts there is that it is refused, with one of these statuses; a scenario's answer
# (a 500 or 511) to such a request would mean it went unchecked.
REJECTION_STATUSES = ("400", "401", "413", "415")
CHECKS = {
    "positive": CONFORMANCE_CHECKS,
    "negative": ("negative_data_rejection", "response_headers_conformance"),
}
# The coverage phase is left out: for the large UserProfile bodies it generates thousands of
# cases (minutes on its own). The examples and fuzzing phases, with this many cases per
# operation, keep the module under a minute on a busy 2-core machine.
PHASES = "examples,fuzzing"
EXAMPLES_PER_OPERATION = 25
RUN_TIMEOUT_S = 300.0  # only a hung run gets near it


@dataclass(frozen=True)
class Operation:
    operation_id: str
    # Only an operation with a body or parameters can be sent a request that breaks the spec.
    takes_input: bool


def _load_operations() -> dict[str, Operation]:
    """Every operation of the spec by its schemathesis label, `METHOD /path`."""
    operations = {}
    for path, item in yaml.safe_load(SPEC.read_text())["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                takes_input = bool(
                    operation.get("requestBody")
                    or operation.get("parameters")
                    or item.get("parameters")
                )
                label = f"{method.upper()} {path}"
                operations[label] = Operation(operation["operationId"], takes_input)
    return operations


OPERATIONS = _load_operations()


def _session(mode: str, label: str) -> str:
    return f"schemathesis-{mode}-{OPERATIONS[label].operation_id}"


def _config(mode: str) -> str:
    """schemathesis.toml for one run: a session per operation, the rejection statuses."""
    lines = [
        # select-user requires a bearer token, any token; the other operations ignore it.
        'headers = { Authorization = "Bearer test-token" }',
        "",
        "[cache]",  # its crash files are for `st replay`; the reports here are the record
        "enabled = false",
        "",
        "[checks.negative_data_rejection]",
        f"expected-statuses = {json.dumps(REJECTION_STATUSES)}",
    ]
    for label, operation in OPERATIONS.items():
        lines += [
            "",
            "[[operations]]",
            f"include-operation-id = {json.dumps(operation.operation_id)}",
            f"headers = {{ X-Mock-Session = {json.dumps(_session(mode, label))} }}",
        ]
    return "\n".join(lines) + "\n"


@dataclass
class Outcome:
    """What schemathesis reported for one operation."""

    # (failure codes such as ST103, schemathesis's report with the curl reproduction)
    failures: list[tuple[frozenset[str], str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _read_junit(report: Path) -> dict[str, Outcome]:
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = outcomes.setdefault(case.get("name"), Outcome())
        for failure in case.iter("failure"):
            codes = frozenset(code.strip() for code in failure.get("message", "").split(","))
            outcome.failures.append((codes, failure.text or ""))
        outcome.errors += [error.text or error.get("message", "") for error in case.iter("error")]
        outcome.skipped += [skip.text or "" for skip in case.iter("skipped")]
    return outcomes


class SchemathesisRun:
    """One `schemathesis run` in a working directory of its own, started at once."""

    def __init__(self, base_url: str, mode: str, workdir: Path) -> None:
        config = workdir / "schemathesis.toml"
        config.write_text(_config(mode))
        self.report = workdir / "junit.xml"
        command = [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(config),
            "run", str(SPEC),
            "--url", base_url,
            "--mode", mode,
            "--phases", PHASES,
            "--checks", ",".join(CHECKS[mode]),
            "--max-examples", str(EXAMPLES_PER_OPERATION),
            # Derandomized: no seed, no example database, the same requests every run.
            "--generation-deterministic",
            "--workers", "1",
            "--continue-on-failure",
            # A busy machine makes generation slow; that says nothing about the mock.
            "--suppress-health-check", "too_slow",
            "--request-timeout", "5",
            # The headers are test values, and the curl reproductions need them.
            "--output-sanitize", "false",
            "--no-color",
            "--report", "junit", "--report-junit-path", str(self.report),
        ]
        # The working directory is schemathesis's own: nothing it writes lands in the repository.
        self.process = subprocess.Popen(
            command,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def outcomes(self) -> dict[str, Outcome]:
        """Waits for the run; what it reported, by operation."""
        try:
            stdout, stderr = self.process.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
            pytest.fail(f"schemathesis ran over {RUN_TIMEOUT_S}s\n{stdout}\n{stderr}")
        # Exit code 1 is "some check failed", which the tests below report per operation.
        code = self.process.returncode
        assert code in (0, 1) and self.report.is_file(), (
            f"schemathesis exited {code}\n{stdout}\n{stderr}"
        )
        return _read_junit(self.report)

    def kill(self) -> None:
        """Ends the run if it is still going (when the other one failed first)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


class KnownBug(AssertionError):
    """Failures all of the kinds that the bugs named in the test's xfail reason cause."""


@dataclass(frozen=True)
class Bug:
    reason: str
    codes: frozenset[str]  # the schemathesis failures it causes


POSITIVE_BUGS: dict[str, list[Bug]] = {}
NEGATIVE_BUGS: dict[str, list[Bug]] = {}


def _params(labels, bugs: dict[str, list[Bug]]):
    """(label, the failure codes its known bugs cause), xfail(strict) where there are any."""
    params = []
    for label in labels:
        known = bugs.get(label, [])
        reason = "; ".join(bug.reason for bug in known)
        marks = [pytest.mark.xfail(strict=True, raises=KnownBug, reason=reason)] if known else []
        codes = frozenset().union(*(bug.codes for bug in known))
        params.append(pytest.param(label, codes, marks=marks, id=label))
    return params


def _assert_no_failure(outcomes: dict[str, Outcome], label: str, known: frozenset[str]) -> None:
    outcome = outcomes.get(label)
    assert outcome is not None, f"schemathesis reported nothing for {label}: {sorted(outcomes)}"
    assert not outcome.errors, "\n\n".join(outcome.errors)
    assert not outcome.skipped, f"{label} was not tested: {outcome.skipped}"
    if outcome.failures:
        codes = frozenset().union(*(codes for codes, _ in outcome.failures))
        # A failure no known bug explains fails the test even where an xfail is expected.
        failure = KnownBug if codes <= known else AssertionError
        raise failure("\n\n".join(text for _, text in outcome.failures))


def _journal_count(base_url: str, **query) -> int:
    status, _, body = http_request(base_url, "GET", "/__mock/journal?" + urlencode(query))
    assert status == 200, body
    return json.loads(body)["matched"]


@pytest.fixture(scope="module")
def schemathesis_target(tmp_path_factory):
    """A specmock serving the repository's openapi.yaml, fixtures and scenarios."""
    with running_specmock(
        tmp_path_factory,
        "--spec", str(SPEC),
        "--fixtures", str(REPO_ROOT / "fixtures"),
        "--scenarios", str(REPO_ROOT / "scenarios"),
    ) as server:
        yield server.url


@pytest.fixture(scope="module")
def schemathesis_outcomes(schemathesis_target, tmp_path_factory):
    """Mode -> operation label -> Outcome. The runs share only the server, so they run at once."""
    runs = {
        mode: SchemathesisRun(schemathesis_target, mode, tmp_path_factory.mktemp(mode))
        for mode in ("positive", "negative")
    }
    try:
        return {mode: run.outcomes() for mode, run in runs.items()}
    finally:
        for run in runs.values():
            run.kill()


@pytest.mark.parametrize("label, known_failures", _params(OPERATIONS, POSITIVE_BUGS))
def test_valid_requests_are_accepted_and_answered_as_declared(
    schemathesis_target, schemathesis_outcomes, label, known_failures
):
    session = _session("positive", label)
    assert _journal_count(schemathesis_target, session=session) > 0, "no request arrived"
    assert _journal_count(schemathesis_target, session=session, violating="true") == 0, (
        "the mock's validator refused requests schemathesis generated as valid"
    )
    _assert_no_failure(schemathesis_outcomes["positive"], label, known_failures)


@pytest.mark.parametrize(
    "label, known_failures",
    _params([label for label, op in OPERATIONS.items() if op.takes_input], NEGATIVE_BUGS),
)
def test_invalid_requests_are_refused_by_the_validator(
    schemathesis_target, schemathesis_outcomes, label, known_failures
):
    session = _session("negative", label)
    assert _journal_count(schemathesis_target, session=session, violating="true") > 0, (
        "the mock's validator found no request that breaks the spec"
    )
    _assert_no_failure(schemathesis_outcomes["negative"], label, known_failures)
