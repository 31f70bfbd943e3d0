"""RFC 8785 canonical JSON: the RFC's own examples (§3.2.2 and §3.2.3) and the refusals."""

from __future__ import annotations

import json

import pytest

from ipsim.engine.errors import InvalidInput
from ipsim.platform.canonical import canonical_json


def test_the_rfc_example_of_section_3_2_2() -> None:
    source = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(source) == expected.encode()


def test_keys_sort_by_utf16_code_units_as_in_section_3_2_3() -> None:
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    ordered = list(json.loads(canonical_json({key: 0 for key in keys})))
    assert ordered == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_key_order_and_whitespace_do_not_change_the_bytes() -> None:
    assert canonical_json({"b": [1, {"y": 2, "x": 1}], "a": "é"}) == canonical_json(
        json.loads('{ "a" : "\\u00e9", "b" : [ 1 , { "x" : 1 , "y" : 2 } ] }')
    )


@pytest.mark.parametrize("bad", [float("nan"), 2**60, {"k": b"bytes"}])
def test_what_jcs_cannot_carry_is_a_400_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        canonical_json({"v": bad}, "transaction")
    assert caught.value.field == "transaction"
