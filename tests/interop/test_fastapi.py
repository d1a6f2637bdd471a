"""Interop: a FastAPI app, a real producer of OpenAPI 3.1 documents, against specmock.

The app below has the models of a realistic API (nested objects, optional and nullable
fields, enums, a discriminated union, constrained strings and numbers, `datetime`, `UUID`,
lists and maps, a path, a query and a header parameter, an API-key security scheme). What
`app.openapi()` returns (`openapi: 3.1.0`) is written to a file and served by specmock:

- the spec loads with no warning, and `specmock check` finds no problem in it;
- schemathesis (positive) sends valid requests generated from it: every answer conforms;
- a differential test sends the same requests, valid and invalid, to the FastAPI app itself
  (in process, through its ASGI interface) and to specmock: those schemathesis generates
  (positive and negative) and `PROBES`, bodies written where Pydantic is known to read
  more than JSON Schema allows. Where FastAPI refuses a request as invalid (422), specmock
  must refuse it (400); where FastAPI accepts it, specmock must accept it. A disagreement
  passes only if one of the named rules in `DIFFERENCES` explains it (a documented way
  Pydantic's lax reading differs from JSON Schema: the mock broke that rule's `type` or
  `format` where the schema declares what Pydantic reads there, and accepts the request
  once the body and query values are written as Pydantic reads them); any other fails
  the test. Every operation must see both an accepted and an invalid agreement. The
  counts are printed (`pytest -s`).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Union
from uuid import UUID

import pytest
import requests
import schemathesis
from conftest import _binary_path, running_specmock
from fastapi import FastAPI, Header, Path as PathParam, Query, Security
from fastapi.security import APIKeyHeader
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import BaseModel, Field
from schemathesis.generation.modes import GenerationMode

API_KEY = {"X-API-Key": "test-key"}
# Per operation and mode: ~300 requests to each side, well under a minute.
CASES_PER_OPERATION = 100
RUN_TIMEOUT_S = 300.0


# ----------------------------------------------------------------------------- the app


class Status(str, Enum):
    available = "available"
    pending = "pending"
    sold = "sold"


class Address(BaseModel):
    street: str = Field(min_length=1, max_length=100)
    city: str
    # The mock generates no text for a pattern (README: Responses): an example gives one.
    postcode: str = Field(pattern=r"^[0-9]{5}$", examples=["75001"])


class Owner(BaseModel):
    id: UUID
    name: str = Field(min_length=1, max_length=50)
    email: str | None = None
    address: Address | None = None


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=0, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class PetIn(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    status: Status = Status.available
    tags: list[str] = Field(default_factory=list, max_length=5)
    attributes: dict[str, int] = Field(default_factory=dict)
    weight: float = Field(gt=0, lt=200)
    born: datetime
    owner: Owner | None = None
    animal: Annotated[Union[Cat, Dog], Field(discriminator="kind")]
    nickname: str | None = None


class Pet(PetIn):
    id: int = Field(ge=1)


# Module-level: FastAPI resolves the endpoints' (string) annotations in this module.
api_key = APIKeyHeader(name="X-API-Key")


def build_app() -> FastAPI:
    app = FastAPI(title="Pet shop", version="1.0.0")

    @app.get("/pets", response_model=list[Pet])
    def list_pets(
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        status: Status | None = None,
        x_request_id: Annotated[UUID | None, Header()] = None,
        # The most common FastAPI query parameters: `anyOf: [{type: integer}, {type: 'null'}]`.
        page: int | None = None,
        ids: Annotated[list[int] | None, Query()] = None,
    ) -> list[Pet]:
        return []

    @app.post("/pets", response_model=Pet, status_code=201)
    def add_pet(pet: PetIn, key: Annotated[str, Security(api_key)]) -> Pet:
        return Pet(id=1, **pet.model_dump())

    @app.get("/pets/{pet_id}", response_model=Pet)
    def get_pet(pet_id: Annotated[int, PathParam(ge=1)]) -> Pet:
        return Pet(id=pet_id, name="Rex", weight=1, born=datetime(2024, 1, 1), animal=Dog(kind="dog", good=True))

    @app.put("/owners/{owner_id}", response_model=Owner)
    def put_owner(owner_id: UUID, owner: Owner, key: Annotated[str, Security(api_key)]) -> Owner:
        return owner

    return app


APP = build_app()


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fastapi") / "openapi.json"
    path.write_text(json.dumps(APP.openapi(), indent=1))
    return path


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory, spec_file: Path):
    with running_specmock(tmp_path_factory, "--spec", str(spec_file)) as server:
        yield server


# ----------------------------------------------------------------------------- loading


def test_the_spec_is_3_1_and_loads_without_a_warning(mock, spec_file: Path) -> None:
    assert APP.openapi()["openapi"].startswith("3.1."), APP.openapi()["openapi"]
    log = mock.stderr_tail(400)
    assert "WARN" not in log and "warning" not in log, log

    check = subprocess.run(
        [str(_binary_path()), "check", "--spec", str(spec_file), "--format", "json"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["problems"] == [], report["problems"]
    # The only warnings are coverage's: no scenario answers FastAPI's 422s (the mock's own
    # refusal is a 400, see README "Mock-made errors").
    for warning in report["warnings"]:
        assert "422: no scenario rule answers it" in warning["message"], warning


# ----------------------------------------------------------------------------- schemathesis


def test_schemathesis_positive_requests_get_conforming_answers(mock, spec_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text("\n".join([
        f'headers = {{ X-API-Key = "{API_KEY["X-API-Key"]}" }}',
        "[cache]",
        "enabled = false",
        # schemathesis sends the `null` of `UUID | None` as the text `null`, which neither
        # FastAPI (422) nor the mock (400) reads as null (the differential test below sends
        # it to both): here the header gets a valid value instead.
        "[[operations]]",
        'include-operation-id = "list_pets_pets_get"',
        'parameters = { "x-request-id" = "0b2d1f5e-6f1a-4c55-9a4f-0c3a2b1d9e77" }',
    ]) + "\n")
    report = tmp_path / "junit.xml"
    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(config),
            "run", str(spec_file), "--url", mock.url, "--mode", "positive",
            "--phases", "examples,fuzzing",
            "--checks", "status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples", str(CASES_PER_OPERATION), "--generation-deterministic", "--workers", "1",
            "--suppress-health-check", "too_slow", "--request-timeout", "5", "--no-color",
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"


# ----------------------------------------------------------------------------- differential


@dataclass
class Exchange:
    """One request and the two answers to it."""

    label: str
    # The operation, as `METHOD /path`, and, per part of the request (`body`, `query`), the
    # schema of that part (the query's: an object whose properties are its parameters).
    operation: str
    schemas: dict[str, Any]
    # What was sent: the JSON body, and the query, header and path parameters.
    sent_parts: dict[str, Any]
    fastapi: str
    fastapi_body: Any
    specmock: str
    specmock_body: Any
    # The mock's verdict on the same request with other parts (a JSON body, a query).
    resend: Callable[[dict[str, Any]], str]

    def violations(self) -> list[dict]:
        body = self.specmock_body if isinstance(self.specmock_body, dict) else {}
        return body.get("violations", [])

    def sent(self, pointer: str) -> Any:
        """The value a violation's pointer (`/body/...`, `/query/NAME`, ...) names in the request."""
        location, _, rest = pointer.lstrip("/").partition("/")
        value = self.sent_parts.get(location)
        for token in (t for t in rest.split("/") if t):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(value, dict) and token in value:
                value = value[token]
            elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value = value[int(token)]
            else:
                return None
        return value


def verdict_of_fastapi(status: int) -> str:
    if 200 <= status < 300:
        return "accepted"
    # 422: a value breaks the model, or the body is not JSON (`json_invalid`); 400: the
    # body could not be read as text at all. The mock answers each with a 400.
    verdicts = {400: "invalid", 422: "invalid", 401: "unauthenticated", 403: "unauthenticated", 404: "not found"}
    return verdicts.get(status, f"status {status}")


def verdict_of_specmock(status: int) -> str:
    if 200 <= status < 300:
        return "accepted"
    return {400: "invalid", 401: "unauthenticated", 404: "not found"}.get(status, f"status {status}")


NOT_COERCED = object()


def lax_number(value: Any) -> Any:
    """Pydantic's lax mode reads a numeric string as the number."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return NOT_COERCED
        return int(number) if number.is_integer() and "." not in value else number
    return NOT_COERCED


LAX_BOOLEANS = {"true": True, "t": True, "yes": True, "y": True, "on": True, "1": True,
                "false": False, "f": False, "no": False, "n": False, "off": False, "0": False}


def lax_boolean(value: Any) -> Any:
    """Pydantic's lax mode reads `"true"`, `"yes"`, `1`... as booleans."""
    if isinstance(value, str) and value.lower() in LAX_BOOLEANS:
        return LAX_BOOLEANS[value.lower()]
    if type(value) is int and value in (0, 1):
        return bool(value)
    return NOT_COERCED


def naive_datetime(value: Any) -> Any:
    """Pydantic reads a date-time without an offset (a naive `datetime`); RFC 3339 needs one."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return NOT_COERCED
        if "T" in value and parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc).isoformat()
    return NOT_COERCED


def unix_time(value: Any) -> Any:
    """Pydantic reads a number as a Unix time for a `datetime`; JSON Schema wants the text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            return NOT_COERCED
    return NOT_COERCED


def uuid_forms(value: Any) -> Any:
    """Pydantic reads a UUID without hyphens, in braces or as a URN; `format: uuid` does not."""
    if isinstance(value, str):
        try:
            canonical = str(UUID(value))
        except ValueError:
            return NOT_COERCED
        return canonical if canonical != value else NOT_COERCED
    return NOT_COERCED


SPEC = APP.openapi()


def resolved(schema: Any) -> Any:
    """`schema` with its local `$ref`s followed."""
    for _ in range(32):
        if not isinstance(schema, dict) or "$ref" not in schema:
            break
        target: Any = SPEC
        for token in schema["$ref"].lstrip("#/").split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        schema = target
    return schema


def branches(schema: Any) -> list:
    """`schema` and, recursively, the members of its `anyOf`/`oneOf`/`allOf`, resolved."""
    schema = resolved(schema)
    if not isinstance(schema, dict):
        return []
    found = [schema]
    for keyword in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(keyword, []):
            found.extend(branches(member))
    return found


def schemas_at(schema: Any, tokens: list[str]) -> list:
    """Every schema that may judge the value at the instance pointer `tokens`."""
    candidates = branches(schema)
    for token in tokens:
        token = token.replace("~1", "/").replace("~0", "~")
        inner = []
        for candidate in candidates:
            if token in candidate.get("properties", {}):
                inner.extend(branches(candidate["properties"][token]))
            elif isinstance(candidate.get("additionalProperties"), dict):
                inner.extend(branches(candidate["additionalProperties"]))
            if token.isdigit() and "items" in candidate:
                inner.extend(branches(candidate["items"]))
        candidates = inner
    return candidates


def declares_type(*kinds: str) -> Callable[[dict], bool]:
    def declares(schema: dict) -> bool:
        declared = schema.get("type")
        return any(kind in (declared if isinstance(declared, list) else [declared]) for kind in kinds)
    return declares


def declares_format(form: str) -> Callable[[dict], bool]:
    return lambda schema: schema.get("format") == form


@dataclass(frozen=True)
class Difference:
    """A documented way Pydantic and JSON Schema judge the same value differently.

    It explains a request FastAPI accepts and the mock refuses when every refusal is of the
    rule the difference is about (`type` or `format`) at a pointer whose schema declares what
    Pydantic reads there (`declares`), and the mock accepts the same request once every
    value under the refused pointers is written as Pydantic reads it.
    """

    name: str
    canonical: Callable[[Any], Any]
    rule: str
    declares: Callable[[dict], bool]

    def explains(self, exchange: Exchange) -> bool:
        if (exchange.fastapi, exchange.specmock) != ("accepted", "invalid"):
            return False
        violations = exchange.violations()
        if not violations:
            return False
        parts = copy.deepcopy({part: exchange.sent_parts[part] for part in REWRITTEN_PARTS})
        # The query as it went on the wire, as text (schemathesis may hold a number).
        parts["query"] = {name: sent_text(value) for name, value in parts["query"].items()}
        changed = False
        for violation in violations:
            part, *tokens = violation.get("pointer", "").split("/")[1:]
            if part not in REWRITTEN_PARTS or violation.get("rule") != self.rule:
                return False
            if not any(self.declares(s) for s in schemas_at(exchange.schemas.get(part), tokens)):
                return False
            parts[part], rewritten = self.rewrite(parts[part], tokens)
            changed |= rewritten
        # A query carries text: the value as Pydantic reads it, written as text.
        parts["query"] = {name: as_query_text(value) for name, value in parts["query"].items()}
        return changed and exchange.resend(parts) == "accepted"

    def rewrite(self, value: Any, tokens: list[str]) -> tuple[Any, bool]:
        """`value` with every leaf under the pointer `tokens` canonical."""
        if tokens:
            token = tokens[0].replace("~1", "/").replace("~0", "~")
            if isinstance(value, dict) and token in value:
                value[token], changed = self.rewrite(value[token], tokens[1:])
                return value, changed
            if isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value[int(token)], changed = self.rewrite(value[int(token)], tokens[1:])
                return value, changed
            if token == "0" and not isinstance(value, (dict, list)):
                # A query parameter sent once: the mock reads the array of that one value.
                return self.rewrite(value, tokens[1:])
            return value, False
        if isinstance(value, (dict, list)):
            changed = False
            for key in (value.keys() if isinstance(value, dict) else range(len(value))):
                value[key], rewritten = self.rewrite(value[key], [])
                changed |= rewritten
            return value, changed
        canonical = self.canonical(value)
        return (value, False) if canonical is NOT_COERCED else (canonical, True)


# The parts of a request a difference may rewrite to see the mock accept it.
REWRITTEN_PARTS = ("body", "query")


def sent_text(value: Any) -> Any:
    """A query value as `requests` writes it, lists item by item."""
    if isinstance(value, list):
        return [sent_text(item) for item in value]
    return value if isinstance(value, str) else str(value)


def as_query_text(value: Any) -> Any:
    """A query value as text (`3.0` read as an integer is `3`), lists item by item."""
    if isinstance(value, list):
        return [as_query_text(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


DIFFERENCES = (
    Difference("pydantic-lax-number", lax_number, "type", declares_type("number", "integer")),
    Difference("pydantic-lax-boolean", lax_boolean, "type", declares_type("boolean")),
    Difference("pydantic-naive-datetime", naive_datetime, "format", declares_format("date-time")),
    Difference("pydantic-unix-time", unix_time, "type", declares_format("date-time")),
    Difference("pydantic-uuid-forms", uuid_forms, "format", declares_format("uuid")),
)


# A valid body for POST /pets, and edits of it where Pydantic and JSON Schema are known to
# part ways (schemathesis seldom generates these), plus some where they must not.
VALID_PET = {
    "name": "Rex", "status": "sold", "tags": ["old"], "attributes": {"age": 3}, "weight": 12.5,
    "born": "2024-01-01T00:00:00Z", "nickname": None, "animal": {"kind": "cat", "lives": 9},
    "owner": {
        "id": "0b2d1f5e-6f1a-4c55-9a4f-0c3a2b1d9e77", "name": "Ann", "email": None,
        "address": {"street": "1 Rue de Rivoli", "city": "Paris", "postcode": "75001"},
    },
}
PROBES = {
    "the valid pet": {},
    "an unknown field": {"colour": "grey"},
    "a numeric string for a number": {"weight": "12.5"},
    "a whole float for an integer": {"animal": {"kind": "cat", "lives": 3.0}},
    "a string for a boolean": {"animal": {"kind": "dog", "good": "true"}},
    "an integer for a boolean": {"animal": {"kind": "dog", "good": 1}},
    "a date-time without an offset": {"born": "2024-01-01T00:00:00"},
    "a Unix time for a date-time": {"born": 1704067200},
    "a UUID without hyphens": {"owner": {**VALID_PET["owner"], "id": "0b2d1f5e6f1a4c559a4f0c3a2b1d9e77"}},
    "a numeric string in a map of integers": {"attributes": {"age": "3"}},
    "null for a field with a default": {"status": None},
    "an unknown discriminator value": {"animal": {"kind": "cow"}},
    "a postcode that breaks its pattern": {"owner": {**VALID_PET["owner"], "address": {**VALID_PET["owner"]["address"], "postcode": "7500"}}},
}


def send(case, label: str, mock) -> Exchange:
    """`case` sent to the FastAPI app (in process, through its ASGI interface) and to the mock."""
    to_fastapi = case.call(base_url="http://testserver", app=APP, headers=API_KEY)
    to_mock = case.call(base_url=mock.url, headers=API_KEY, timeout=10)

    operation = SPEC["paths"][case.operation.path][case.operation.method.lower()]

    def resend(parts: dict[str, Any]) -> str:
        request = case.as_transport_kwargs(base_url=mock.url, headers=API_KEY)
        if "requestBody" in operation:
            request.pop("data", None)
            request["json"] = parts["body"]
        request["params"] = parts["query"]
        return verdict_of_specmock(requests.request(**request, timeout=10).status_code)

    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    query = {p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "query"}
    return Exchange(
        label,
        f"{case.operation.method.upper()} {case.operation.path}",
        {"body": body.get("schema"), "query": {"properties": query}},
        {
            "body": case.body,
            "query": case.query or {},
            "header": {k.lower(): v for k, v in (case.headers or {}).items()},
            "path": case.path_parameters or {},
        },
        verdict_of_fastapi(to_fastapi.status_code), body_of(to_fastapi),
        verdict_of_specmock(to_mock.status_code), body_of(to_mock),
        resend,
    )


def draw(strategy, count: int) -> list:
    """`count` cases from a strategy, the same ones every run."""
    drawn = []

    @settings(
        max_examples=count, derandomize=True, database=None, deadline=None,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case) -> None:
        drawn.append(case)

    collect()
    return drawn


def body_of(response) -> Any:
    try:
        return response.json()
    except Exception:
        return response.text


def test_fastapi_and_specmock_agree_on_every_generated_request(mock) -> None:
    schema = schemathesis.openapi.from_dict(APP.openapi())
    exchanges = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for case in draw(operation.as_strategy(generation_mode=mode), CASES_PER_OPERATION):
                exchanges.append(send(case, f"{operation.label} ({mode.value}): {case.as_curl_command()}", mock))
    add_pet = schema["/pets"]["POST"]
    for name, edit in PROBES.items():
        body = {**VALID_PET, **edit}
        case = add_pet.Case(body=body, media_type="application/json")
        exchanges.append(send(case, f"probe, {name}: POST /pets {json.dumps(body)}", mock))
    agreements = Counter()
    agreed_by_operation = Counter()
    explained = Counter()
    unexplained = []
    for exchange in exchanges:
        if exchange.fastapi == exchange.specmock:
            agreements[exchange.fastapi] += 1
            agreed_by_operation[(exchange.operation, exchange.fastapi)] += 1
            continue
        rule = next((d for d in DIFFERENCES if d.explains(exchange)), None)
        if rule is None:
            unexplained.append(exchange)
        else:
            explained[rule.name] += 1
    print(f"\n{len(exchanges)} requests to each side")
    print(f"agreements: {sum(agreements.values())} {dict(sorted(agreements.items()))}")
    print(f"disagreements explained by a rule: {sum(explained.values())} {dict(sorted(explained.items()))}")
    print(f"disagreements unexplained: {len(unexplained)}")
    operations = {exchange.operation for exchange in exchanges}
    assert len(operations) == 4, operations
    # Most of what is drawn is sent: a strategy that dries up would hollow the test out.
    assert len(exchanges) >= len(operations) * CASES_PER_OPERATION, len(exchanges)
    for operation in sorted(operations):
        for verdict in ("accepted", "invalid"):
            assert agreed_by_operation[(operation, verdict)] > 0, f"{operation}: no {verdict} agreement"
    assert not unexplained, "\n\n".join(
        f"FastAPI {e.fastapi}, specmock {e.specmock}: {e.label}\n"
        f"FastAPI: {json.dumps(e.fastapi_body)[:600]}\nspecmock: {json.dumps(e.specmock_body)[:600]}"
        for e in unexplained[:8]
    ) + f"\n\n({len(unexplained)} in all)"
