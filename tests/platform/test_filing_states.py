"""The status machine as data: every kind's paths, final states, withdrawal and the errors."""

from __future__ import annotations

import pytest

from ipsim.engine.errors import Conflict, InvalidInput
from ipsim.platform.filing.states import (
    FINAL,
    INITIAL,
    KINDS,
    MACHINES,
    STATES,
    WITHDRAWN,
    check_transition,
    machine_for,
)


def _reachable(kind: str) -> set[str]:
    machine, seen, todo = machine_for(kind), {INITIAL}, [INITIAL]
    while todo:
        for status in machine.allowed(todo.pop()):
            if status not in seen:
                seen.add(status)
                todo.append(status)
    return seen


def test_the_documented_paths() -> None:
    invention = machine_for("invention")
    assert invention.allowed("received") == ("formal_examination", WITHDRAWN)
    assert invention.allowed("formal_examination") == ("search", "refusal", WITHDRAWN)
    assert invention.allowed("search") == ("substantive_examination", WITHDRAWN)
    assert invention.allowed("substantive_examination") == (
        "decision_to_grant",
        "refusal",
        WITHDRAWN,
    )
    assert invention.allowed("refused") == ("appeal", WITHDRAWN)
    assert invention.allowed("appeal") == ("granted", "refused_on_appeal", WITHDRAWN)
    assert "search" not in machine_for("utility_model").states
    assert (
        machine_for("utility_model").allowed("formal_examination")[0] == "substantive_examination"
    )
    assert machine_for("industrial_design").allowed("substantive_examination") == (
        "registered",
        "refused",
        WITHDRAWN,
    )
    trademark = machine_for("trademark")
    assert trademark.allowed("substantive_examination") == ("publication", "refused", WITHDRAWN)
    assert trademark.allowed("publication") == ("opposition_period", WITHDRAWN)
    assert trademark.allowed("opposition_period") == ("registered", "refused", WITHDRAWN)


@pytest.mark.parametrize("kind", KINDS)
def test_every_status_is_reachable_final_ones_lead_nowhere_others_can_be_withdrawn(
    kind: str,
) -> None:
    machine = machine_for(kind)
    assert _reachable(kind) == set(machine.states)
    for status in machine.states:
        if status in FINAL:
            assert machine.allowed(status) == (), status
        else:
            assert WITHDRAWN in machine.allowed(status), status
    # the grant of the kind is final and reachable
    assert {"granted", "registered"} & set(machine.states) & FINAL


@pytest.mark.parametrize("kind", KINDS)
def test_every_pair_of_statuses_is_allowed_or_a_conflict_naming_both(kind: str) -> None:
    machine = MACHINES[kind]
    for current in machine.states:
        for target in STATES:
            if target in machine.allowed(current):
                assert check_transition(kind, current, target) == target
                continue
            with pytest.raises(Conflict) as caught:
                check_transition(kind, current, target)
            message = caught.value.message
            assert repr(current) in message and repr(target) in message
            for allowed in machine.allowed(current):
                assert allowed in message
            if current in FINAL:
                assert "final" in message


def test_an_unknown_status_or_kind_is_a_400_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_transition("invention", "received", "approved")
    assert caught.value.field == "to" and "formal_examination" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        check_transition("invention", "received", 3)
    assert caught.value.field == "to"
    with pytest.raises(InvalidInput) as caught:
        machine_for("copyright")
    assert caught.value.field == "kind" and "trademark" in caught.value.message
