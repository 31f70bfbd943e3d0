"""The status machine of an application: its states and allowed transitions, per kind, as data.

Pure (no I/O): :class:`Machine` answers which statuses may follow which, and
:func:`check_transition` turns a request into the error a caller can act on. The store
(:mod:`ipsim.platform.filing.applications`) applies a transition with a compare-and-set on the
status it checked, so two concurrent requests cannot both move an application.

The paths, per kind (every kind starts ``received``; ``→`` is one allowed transition)::

    invention      received → formal_examination → search → substantive_examination
                   → decision_to_grant → granted,  or  → refusal → refused
    utility_model  the same without ``search``: formal_examination → substantive_examination
    industrial_design  received → formal_examination → substantive_examination
                   → registered | refused
    trademark      received → formal_examination → substantive_examination → publication
                   → opposition_period → registered | refused

and, for every kind:

* a refusal can come early: ``formal_examination`` may lead to ``refusal`` (patents) or
  ``refused`` (designs, marks), and a mark's ``substantive_examination`` to ``refused``;
* ``refused`` may be appealed once: ``refused → appeal → granted | registered`` (the kind's
  grant) ``| refused_on_appeal``;
* ``withdrawn`` follows from every state that is not final.

Final states (nothing follows): ``granted``, ``registered``, ``withdrawn``,
``refused_on_appeal``. ``refused`` is not final: it can still be appealed or withdrawn.

Transitions that incur a fee (:data:`FEE_EVENTS`): entering ``search`` (inventions: the search
fee), ``substantive_examination`` (the examination fee) and the kind's grant (``granted`` /
``registered``: the grant or registration fee).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ipsim.engine.errors import Conflict, InvalidInput

KINDS: tuple[str, ...] = ("invention", "utility_model", "industrial_design", "trademark")
INITIAL = "received"
WITHDRAWN = "withdrawn"
FINAL: frozenset[str] = frozenset({"granted", "registered", WITHDRAWN, "refused_on_appeal"})
FEE_EVENTS: Mapping[str, str] = {
    "search": "search",
    "substantive_examination": "examination",
    "granted": "grant",
    "registered": "grant",
}
"""Status entered → the fee event it incurs (a code of the fee schedule)."""


@dataclass(frozen=True)
class Machine:
    """One kind's statuses and the transitions between them."""

    kind: str
    transitions: Mapping[str, tuple[str, ...]]
    """Status → the statuses that may follow it (in a stable, documented order)."""

    @property
    def states(self) -> tuple[str, ...]:
        """Every status of this kind, in path order."""
        seen = dict.fromkeys([INITIAL])
        for source, targets in self.transitions.items():
            seen.update(dict.fromkeys([source, *targets]))
        return tuple(seen)

    def allowed(self, status: str) -> tuple[str, ...]:
        """The statuses that may follow ``status`` (empty for a final one)."""
        return self.transitions.get(status, ())


def _machine(kind: str, path: Iterable[tuple[str, tuple[str, ...]]]) -> Machine:
    """The kind's path plus withdrawal from every non-final status."""
    transitions: dict[str, tuple[str, ...]] = {}
    for source, targets in path:
        transitions[source] = targets
    for targets in list(transitions.values()):
        for status in targets:
            transitions.setdefault(status, ())
    for status, targets in transitions.items():
        if status not in FINAL:
            transitions[status] = (*targets, WITHDRAWN)
    return Machine(kind, transitions)


def _appeal(grant: str) -> list[tuple[str, tuple[str, ...]]]:
    return [("refused", ("appeal",)), ("appeal", (grant, "refused_on_appeal"))]


_PATENT_END = [
    ("substantive_examination", ("decision_to_grant", "refusal")),
    ("decision_to_grant", ("granted",)),
    ("refusal", ("refused",)),
    *_appeal("granted"),
]
MACHINES: Mapping[str, Machine] = {
    "invention": _machine(
        "invention",
        [
            (INITIAL, ("formal_examination",)),
            ("formal_examination", ("search", "refusal")),
            ("search", ("substantive_examination",)),
            *_PATENT_END,
        ],
    ),
    "utility_model": _machine(
        "utility_model",
        [
            (INITIAL, ("formal_examination",)),
            ("formal_examination", ("substantive_examination", "refusal")),
            *_PATENT_END,
        ],
    ),
    "industrial_design": _machine(
        "industrial_design",
        [
            (INITIAL, ("formal_examination",)),
            ("formal_examination", ("substantive_examination", "refused")),
            ("substantive_examination", ("registered", "refused")),
            *_appeal("registered"),
        ],
    ),
    "trademark": _machine(
        "trademark",
        [
            (INITIAL, ("formal_examination",)),
            ("formal_examination", ("substantive_examination", "refused")),
            ("substantive_examination", ("publication", "refused")),
            ("publication", ("opposition_period",)),
            ("opposition_period", ("registered", "refused")),
            *_appeal("registered"),
        ],
    ),
}
STATES: tuple[str, ...] = tuple(
    dict.fromkeys(status for machine in MACHINES.values() for status in machine.states)
)
"""Every status of any kind."""


def machine_for(kind: str) -> Machine:
    """The machine of ``kind``; ``InvalidInput("kind")`` names the kinds when it is unknown."""
    machine = MACHINES.get(kind)
    if machine is None:
        raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    return machine


def check_status(value: object, field: str) -> str:
    """A known status name, or ``InvalidInput(field)`` listing them."""
    if not isinstance(value, str) or value not in STATES:
        raise InvalidInput(field, f"unknown status {value!r}; statuses are {', '.join(STATES)}")
    return value


def check_transition(kind: str, current: str, target: object, field: str = "to") -> str:
    """``target`` if ``current → target`` is allowed for ``kind``.

    A name that is no status of any kind is ``InvalidInput(field)``; a status that may not
    follow ``current`` (including one of another kind's path) is a :class:`Conflict` naming
    the current status and the allowed ones.
    """
    machine = machine_for(kind)
    status = check_status(target, field)
    allowed = machine.allowed(current)
    if status not in allowed:
        raise Conflict(forbidden_message(current, status, allowed))
    return status


def forbidden_message(current: str, target: str, allowed: tuple[str, ...]) -> str:
    """What a 409 says: the current status and the allowed ones."""
    options = ", ".join(allowed) if allowed else f"none ({current} is final)"
    return (
        f"cannot move from {current!r} to {target!r}: the application is {current};"
        f" allowed next statuses: {options}"
    )


__all__ = [
    "FEE_EVENTS",
    "FINAL",
    "INITIAL",
    "KINDS",
    "MACHINES",
    "STATES",
    "WITHDRAWN",
    "Machine",
    "check_status",
    "check_transition",
    "forbidden_message",
    "machine_for",
]
