"""Property-based API fuzzing: schemathesis over /openapi.json against a real `ipsim serve`.

Every operation of the schema is fuzzed with positive and negative cases, part of them on
real objects (seeded collections, documents, a result set). Checks on every answer: no 5xx,
every 4xx in the contract's error shape `{"error": {"code": str, "message": str}}`, and a 2xx
body that matches the schema (where the schema documents one).

``IPSIM_FUZZ_EXAMPLES`` sets the cases per operation (default 25: about 1,500 in all;
operations without parameters run fewer, there being nothing to vary); `make soak` raises it.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance
from support.hardening import cube_stl, png_bytes

EXAMPLES_PER_OPERATION = int(os.environ.get("IPSIM_FUZZ_EXAMPLES", "25"))
MIN_TOTAL_CASES = 1000
# Each request is bounded: a hung request is a finding too.
REQUEST_TIMEOUT_S = 60.0

# The two routes that never end (server-sent events) are called with a short read time-out
# by `_call`; nothing is skipped.
STREAMING = {"/v1/bi/indicators/stream"}
# Operations that remove the seed objects: the seed is rebuilt after them.
DESTRUCTIVE = {"DELETE"}


@dataclass
class Findings:
    """The cases run and what was wrong with their answers."""

    cases: int = 0
    per_operation: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def report(self, label: str, case: Any, status: int, why: str, body: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(
                f"{label} -> {status}: {why}\n  path={case.path_parameters} "
                f"query={case.query} body={_short(case.body)}\n  answer={body[:300]}"
            )


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:300]


def error_shape_problem(status: int, body: bytes, kserve: bool = False) -> str | None:
    """Why a 4xx body is not `{"error": {"code": str, "message": str}}`, or None.

    The KServe v2 routes (``/v2/…``) speak that protocol, whose errors are
    `{"error": str}` (what Triton clients parse): those are held to that shape instead."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "4xx body is not JSON"
    error = payload.get("error") if isinstance(payload, dict) else None
    if kserve:
        return None if isinstance(error, str) and error else "4xx body is not {error: str}"
    if not isinstance(error, dict):
        return "4xx body has no `error` object"
    if not isinstance(error.get("code"), str) or not error["code"]:
        return "4xx error has no string `code`"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "4xx error has no string `message`"
    return None


def _path_values(seeded: Any) -> dict[str, list[str]]:
    """Real objects to put into path parameters, by parameter name."""
    return {
        "name": seeded.collections,
        "collection": seeded.collections,
        "doc_id": ["d0", "d1", "d2"],
        "set_id": seeded.result_sets or ["none"],
        "index": ["0"],
        "version": ["1"],
    }


def _real_paths(operation: Any, values: dict[str, list[str]]) -> st.SearchStrategy[dict[str, str]]:
    names = [p.name for p in operation.path_parameters]
    if not names:
        return st.just({})
    if operation.path.startswith("/v2/models"):
        values = {**values, "name": ["text", "image", "chemical", "nope"]}
    known = {n: st.sampled_from(values[n]) for n in names if n in values}
    return st.fixed_dictionaries(known)


def _call(case: Any, url: str, session: requests.Session) -> Any:
    if case.operation.path in STREAMING:
        # An event stream never ends: read the status line, then hang up.
        with session.get(
            f"{url}{case.formatted_path}", params=case.query, stream=True, timeout=(5.0, 5.0)
        ) as response:
            return response
    return case.call(base_url=url, session=session, timeout=REQUEST_TIMEOUT_S)


def fuzz_operation(
    operation: Any, url: str, seeded: Any, findings: Findings, examples: int
) -> None:
    """Run ``examples`` generated cases of one operation, recording every problem."""
    label = f"{operation.method.upper()} {operation.path}"
    values = _path_values(seeded)
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        _real_paths(operation, values).flatmap(
            lambda paths: operation.as_strategy(GenerationMode.POSITIVE, path_parameters=paths)
        ),
        _real_paths(operation, values).flatmap(
            lambda paths: operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=paths)
        ),
    )
    session = requests.Session()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        findings.cases += 1
        findings.per_operation[label] = findings.per_operation.get(label, 0) + 1
        try:
            response = _call(case, url, session)
        except requests.exceptions.ReadTimeout:
            if operation.path not in STREAMING:
                findings.report(label, case, 0, "no answer in time", "")
            return
        except requests.exceptions.ConnectionError as exc:
            findings.report(label, case, 0, f"connection failed: {exc}", "")
            return
        status = response.status_code
        findings.statuses[status] += 1
        if operation.path in STREAMING:
            if status >= 500:
                findings.report(label, case, status, "5xx", "")
            return
        body = response.content
        if status >= 500:
            findings.report(label, case, status, "5xx", body.decode(errors="replace"))
        elif 400 <= status < 500:
            problem = error_shape_problem(status, body, kserve=operation.path.startswith("/v2"))
            if problem:
                findings.report(label, case, status, problem, body.decode(errors="replace"))
        elif 200 <= status < 300 and "json" in response.headers.get("content-type", ""):
            try:
                case.validate_response(response, checks=[response_schema_conformance])
            except Exception as exc:  # schemathesis's FailureGroup: a schema mismatch
                findings.report(label, case, status, f"schema: {str(exc)[:300]}", "")

    run()


# --- bodies that reach the engine's parsers -------------------------------------------------
# Schema-driven bodies stop at `query: {}`-level validation; these carry near-valid content of
# every modality (SMILES-like strings, random bytes as base64 images and meshes, filters).

_CHEM = "CNOSPFIBrcnos()=#[]@+-0123456789%/\\.H$:*~,;&!"
_text = st.text(max_size=40)
_chem_text = st.text(alphabet=_CHEM, max_size=60)
_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), _text
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)
_field = st.sampled_from(["ipc", "year", "date", "tags", "missing", ""])
_bound = st.one_of(_json, st.integers(2000, 2030), st.sampled_from(["2020-01-01", "2021-13-40"]))
_condition = st.one_of(
    _json,
    st.fixed_dictionaries({"prefix": _json | st.sampled_from(["A61", "C07D", ""])}),
    st.fixed_dictionaries({}, optional={"gte": _bound, "lte": _bound, "gt": _bound, "lt": _bound}),
    st.fixed_dictionaries({"in": st.lists(_json, max_size=4) | _json}),
    st.dictionaries(st.sampled_from(["prefix", "in", "gte", "eq", "any"]), _json, max_size=2),
)
FILTERS = st.one_of(_json, st.dictionaries(_field, _condition, max_size=3))


def _mutated(seed: bytes) -> st.SearchStrategy[str]:
    """``seed`` cut short, with a byte flipped, or with random bytes appended; base64."""
    flip = st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)).map(
        lambda at: seed[: at[0]] + bytes([at[1]]) + seed[at[0] + 1 :]
    )
    cut = st.integers(0, len(seed)).map(lambda n: seed[:n])
    tail = st.binary(max_size=64).map(lambda extra: seed + extra)
    return st.one_of(flip, cut, tail, st.binary(max_size=400)).map(
        lambda b: base64.b64encode(b).decode()
    )


def _queries(modality: str) -> st.SearchStrategy[dict[str, Any]]:
    """Near-valid queries (and contents) of one modality."""
    if modality == "chemical":
        smiles = _chem_text | st.sampled_from(["CCO", "c1ccccc1", "C1CC1", "[Na+].[Cl-]"])
        return st.one_of(
            st.fixed_dictionaries({"smiles": smiles}),
            st.fixed_dictionaries({"smarts": smiles | st.just("[$([#6]);!$(C=O)]")}),
            st.fixed_dictionaries(
                {"formula": st.text(alphabet="CHNOSPBrlIa0123456789-*() ", max_size=20)}
            ),
            st.fixed_dictionaries({"molblock": _text}),
        )
    if modality == "sequence":
        return st.fixed_dictionaries(
            {"sequence": st.text(alphabet="ACDEFGHIKLMNPQRSTVWYUXBZ*-> \n", max_size=80)},
            optional={"type": st.sampled_from(["protein", "dna", "rna", "x"])},
        )
    if modality == "trademark":
        return st.fixed_dictionaries(
            {}, optional={"word": _text, "image_b64": _mutated(png_bytes(16))}
        )
    if modality == "text":
        return st.fixed_dictionaries({"text": _text})
    if modality == "image":
        return st.fixed_dictionaries({"image_b64": _mutated(png_bytes(16)) | _text})
    return st.fixed_dictionaries(
        {
            "mesh_b64": _mutated(cube_stl()),
            "format": st.sampled_from(["stl", "obj", "ply", "off", "x"]),
        }
    )


_MODES = ["similarity", "substructure", "exact", "formula", "spelling", "phonetic", "semantic"]
MODALITIES = {
    "fz_chem": "chemical",
    "fz_seq": "sequence",
    "fz_tm": "trademark",
    "fz_text": "text",
    "fz_image": "image",
    "fz_mesh": "mesh",
}


def _search_body(modality: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"query": _queries(modality) | st.dictionaries(_text, _json, max_size=2)},
        optional={
            "k": st.integers(1, 30) | st.integers(-3, 2000),
            "offset": st.integers(0, 5) | st.integers(-3, 20000),
            "filter": FILTERS,
            "mode": st.sampled_from([*_MODES, "all", "bogus"]),
            "threshold": st.floats(allow_nan=False, allow_infinity=False) | _json,
        },
    )


def _upsert_body(modality: str) -> st.SearchStrategy[dict[str, Any]]:
    document = st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=20), "content": _queries(modality)},
        optional={"fields": st.dictionaries(_field, _json, max_size=3)},
    )
    return st.fixed_dictionaries({"documents": st.lists(document, min_size=1, max_size=3)})


def _by_collection(
    make: Any,
) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.one_of(
        [st.tuples(st.just(name), make(modality)) for name, modality in MODALITIES.items()]
    )


def fuzz_engine_bodies(url: str, findings: Findings, examples: int) -> None:
    """Search and upsert bodies of each seed collection's modality, and of others."""
    search = _by_collection(_search_body)
    upsert = _by_collection(_upsert_body)
    _fuzz_bodies(url, "POST", "/v1/collections/{name}/search", search, findings, examples)
    _fuzz_bodies(url, "PUT", "/v1/collections/{name}/documents", upsert, findings, examples)


def _fuzz_bodies(
    url: str,
    method: str,
    path: str,
    cases: st.SearchStrategy[tuple[str, dict[str, Any]]],
    findings: Findings,
    examples: int,
) -> None:
    label = f"{method} {path} (engine bodies)"
    session = requests.Session()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: tuple[str, dict[str, Any]]) -> None:
        name, body = case
        findings.cases += 1
        findings.per_operation[label] = findings.per_operation.get(label, 0) + 1
        target = url + path.replace("{name}", name)
        try:
            response = session.request(method, target, json=body, timeout=REQUEST_TIMEOUT_S)
        except requests.exceptions.RequestException as exc:
            findings.problems.append(f"{label} {name}: {exc!r}\n  body={_short(body)}")
            return
        status = response.status_code
        findings.statuses[status] += 1
        if status >= 500 or (400 <= status < 500 and error_shape_problem(status, response.content)):
            findings.problems.append(
                f"{label} {name} -> {status}\n  body={_short(body)}\n  answer={response.text[:300]}"
            )

    run()


def run_fuzz(url: str, seeded: Any, examples: int, reseed: Any) -> Findings:
    """Fuzz every operation of the live schema; rebuild the seed after destructive ones."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    findings = Findings()
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an operation it cannot read: {result}"
        operations.append(result.ok())
    # Destructive operations last, so that the others see the seed objects.
    operations.sort(key=lambda op: op.method.upper() in DESTRUCTIVE)
    fuzz_engine_bodies(url, findings, examples * 8)
    for operation in operations:
        fuzz_operation(operation, url, seeded, findings, examples)
        if operation.method.upper() in DESTRUCTIVE:
            seeded = reseed()
    return findings


def test_fuzz_every_operation_gives_no_5xx_and_contract_errors(
    hardening_server: Any, seeded: Any, reseed: Any
) -> None:
    """>= 1,000 generated cases over every operation: zero 5xx, every 4xx in the error shape,
    2xx JSON bodies matching the schema; the server still answers afterwards."""
    started = time.perf_counter()
    findings = run_fuzz(hardening_server.url, seeded, EXAMPLES_PER_OPERATION, reseed)
    took = time.perf_counter() - started
    print(
        f"\nschemathesis: {findings.cases} cases over {len(findings.per_operation)} operations"
        f" in {took:.0f}s; {len(findings.problems)} problems; statuses"
        f" {dict(sorted(findings.statuses.items()))}"
    )
    assert hardening_server.process.poll() is None, "the server died during the fuzzing"
    assert requests.get(f"{hardening_server.url}/healthz", timeout=10).status_code == 200
    assert findings.problems == [], "\n".join(findings.problems[:40])
    assert findings.cases >= MIN_TOTAL_CASES
    assert len(findings.per_operation) >= 70  # every operation of the schema ran


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"error": {"code": "not_found", "message": "no such collection"}}', None),
        (b'{"detail": "Not Found"}', "4xx body has no `error` object"),
        (b'{"error": {"code": 404, "message": "x"}}', "4xx error has no string `code`"),
        (b"<html>oops</html>", "4xx body is not JSON"),
    ],
)
def test_error_shape_check_tells_good_from_bad(body: bytes, problem: str | None) -> None:
    assert error_shape_problem(404, body) == problem


def test_kserve_errors_are_held_to_the_protocol_shape() -> None:
    assert error_shape_problem(404, b'{"error": "unknown model"}', kserve=True) is None
    assert error_shape_problem(404, b'{"detail": "x"}', kserve=True) is not None
