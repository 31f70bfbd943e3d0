"""Property tests of the parsers that read client input: whatever arrives, they answer with a
value or their documented error (naming a field), never another exception; and what they
write or accept round-trips.

- filters (``indexers/filters.py`` and the engine's ``Collection.parse_filter``):
  ``FilterError`` / ``InvalidInput``;
- formula queries (``models/formula.py``): ``InvalidContent`` on ``formula``;
- ST.25 / ST.26 / FASTA (``models/sequence_formats.py``): ``ListingError``;
- meshes (``models/mesh_io.py``): ``InvalidContent`` on ``mesh_b64`` / ``format``.
"""

from __future__ import annotations

import base64
import struct
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipsim.engine.collection import Collection
from ipsim.engine.errors import InvalidInput
from ipsim.indexers.filters import FilterError, parse_filter
from ipsim.models.base import InvalidContent
from ipsim.models.formula import hill_formula, parse_formula_query
from ipsim.models.mesh_io import MeshLimits, decode_mesh, parse_mesh
from ipsim.models.sequence_formats import (
    Listing,
    ListingError,
    SequenceEntry,
    parse_fasta,
    parse_listing,
    parse_st25,
    parse_st26,
    write_st25,
    write_st26,
)

SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

# --- any JSON ---------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and ±inf too: JSON parsers in the wild accept them
    st.text(max_size=12),
    st.sampled_from(["2020-01-01", "2020-02-30", "2020-01-01T25:00", "A61K", "A61K 31/00"]),
)
JSON = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["prefix", "in", "gte", "lte", "gt", "lt", "under", "x", "ipc", ""])
            | st.text(max_size=6),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(["ipc", "cpc", "vienna", "locarno", "year", "date", "tags", ""])
FILTERS = st.one_of(JSON, st.dictionaries(FIELDS | st.text(max_size=8), JSON, max_size=4))


@SETTINGS
@given(raw=FILTERS)
def test_a_filter_parses_or_raises_filter_error_naming_a_field(raw: Any) -> None:
    try:
        parsed = parse_filter(raw)
    except FilterError as exc:
        assert exc.field.startswith("filter"), exc.field
        assert str(exc)
        return
    assert isinstance(raw, dict)
    assert len(parsed.clauses) >= len(raw)


def _collection_with_codes(values: list[Any]) -> Any:
    """Just enough of a Collection for ``parse_filter``: the stored values of a field."""
    store = SimpleNamespace(field_values=lambda field: [("s", v) for v in values])
    return SimpleNamespace(store=store)


@SETTINGS
@given(raw=FILTERS)
def test_the_engine_filter_validation_raises_only_invalid_input(raw: Any) -> None:
    collection = _collection_with_codes(["A61K 31/495", "A61K0031495000", "03.01.02"])
    try:
        Collection.parse_filter(collection, raw)
    except InvalidInput as exc:
        assert exc.field and exc.field.startswith("filter"), exc.field


def test_a_filter_round_trips_equality_prefix_range_and_in() -> None:
    parsed = parse_filter(
        {
            "country": "DE",
            "ipc": {"prefix": "A61K"},
            "date": {"gte": "2020-01-01", "lt": "2021-01-01"},
            "kind": {"in": ["invention", "utility_model"]},
        }
    )
    assert len(parsed.clauses) == 4


# --- formulas -----------------------------------------------------------------------------

ELEMENTS = ["C", "H", "N", "O", "S", "P", "Cl", "Br", "Na", "Fe", "I", "B", "Si"]


@SETTINGS
@given(text=st.text(max_size=40) | st.text(alphabet="CHNOSPlBrNaFe0123456789-* ", max_size=40))
def test_a_formula_query_parses_or_raises_invalid_content_on_formula(text: str) -> None:
    try:
        query = parse_formula_query(text)
    except InvalidContent as exc:
        assert exc.field == "formula"
        return
    assert query.counts


@SETTINGS
@given(
    counts=st.dictionaries(st.sampled_from(ELEMENTS), st.integers(1, 999_999), min_size=1),
    order=st.randoms(use_true_random=False),
)
def test_an_exact_formula_round_trips_its_counts_in_any_order(
    counts: dict[str, int], order: Any
) -> None:
    terms = [f"{symbol}{n}" for symbol, n in counts.items()]
    order.shuffle(terms)
    query = parse_formula_query(" ".join(terms))
    assert query.counts == {symbol: (n, n) for symbol, n in counts.items()}
    assert query.exact == hill_formula(counts)
    # the Hill formula reads back as the same counts
    assert parse_formula_query(hill_formula(counts)).counts == query.counts


@SETTINGS
@given(
    ranges=st.dictionaries(
        st.sampled_from(ELEMENTS),
        st.tuples(st.integers(0, 50), st.integers(0, 50)).map(sorted),
        min_size=1,
    )
)
def test_a_range_formula_round_trips_its_bounds(ranges: dict[str, list[int]]) -> None:
    text = "".join(f"{symbol}{low}-{high}" for symbol, (low, high) in ranges.items())
    query = parse_formula_query(text)
    assert query.counts == {symbol: (low, high) for symbol, (low, high) in ranges.items()}


# --- sequence listings ----------------------------------------------------------------------

PROTEIN = st.text(alphabet="ACDEFGHIKLMNPQRSTVWY", min_size=4, max_size=120)
DNA = st.text(alphabet="ACGT", min_size=10, max_size=200)


@st.composite
def listings(draw: st.DrawFn) -> Listing:
    count = draw(st.integers(1, 5))
    entries = []
    for number in range(1, count + 1):
        moltype = draw(st.sampled_from(["AA", "DNA"]))
        residues = draw(PROTEIN if moltype == "AA" else DNA)
        entries.append(
            SequenceEntry(number, moltype, residues, "Homo sapiens", None, len(residues))
        )
    return Listing("US 17/123,456", "Acme Corp", "Widgets", entries, "st26")


def _residues(listing: Listing) -> list[tuple[Any, str, str]]:
    return [(e.seq_id, e.moltype, e.residues) for e in listing.entries]


@SETTINGS
@given(listing=listings())
def test_a_written_st26_listing_parses_back_to_the_same_sequences(listing: Listing) -> None:
    parsed = parse_st26(write_st26(listing))
    assert _residues(parsed) == _residues(listing)


@SETTINGS
@given(listing=listings())
def test_a_written_st25_listing_parses_back_to_the_same_sequences(listing: Listing) -> None:
    parsed = parse_st25(write_st25(listing))
    assert _residues(parsed) == _residues(listing)


@SETTINGS
@given(
    records=st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_|.", min_size=1, max_size=12),
        PROTEIN,
        min_size=1,
        max_size=6,
    ),
    width=st.integers(10, 80),
)
def test_a_generated_fasta_parses_back_to_the_same_records(
    records: dict[str, str], width: int
) -> None:
    text = "".join(
        f">{name} some description\n"
        + "\n".join(seq[i : i + width] for i in range(0, len(seq), width))
        + "\n"
        for name, seq in records.items()
    )
    parsed = parse_fasta(text, default_type="AA")
    assert [(e.seq_id, e.residues) for e in parsed.entries] == list(records.items())


def _st26_skeleton(residues: str, moltype: str = "AA", length: str | None = None) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ST26SequenceListing dtdVersion="V1_3" fileName="x.xml" softwareName="t" '
        'softwareVersion="1" productionDate="2024-01-01">'
        "<ApplicantName>A</ApplicantName><InventionTitle>T</InventionTitle>"
        "<SequenceTotalQuantity>1</SequenceTotalQuantity>"
        '<SequenceData sequenceIDNumber="1"><INSDSeq>'
        f"<INSDSeq_length>{length or len(residues)}</INSDSeq_length>"
        f"<INSDSeq_moltype>{moltype}</INSDSeq_moltype>"
        "<INSDSeq_division>PAT</INSDSeq_division>"
        f"<INSDSeq_sequence>{residues}</INSDSeq_sequence>"
        "</INSDSeq></SequenceData></ST26SequenceListing>"
    ).encode()


def _mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """Cut, flip, insert or splice: near-valid bytes."""
    how = draw(st.sampled_from(["cut", "flip", "insert", "splice"]))
    at = draw(st.integers(0, len(data)))
    if how == "cut":
        return data[:at]
    if how == "flip":
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if how == "insert":
        return data[:at] + draw(st.binary(max_size=16)) + data[at:]
    snippet = draw(
        st.sampled_from(
            [
                b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
                b"&a;",
                b"<!ENTITY e SYSTEM 'file:///etc/passwd'>",
                b"<INSDSeq_length>-1</INSDSeq_length>",
                b"<INSDSeq_length>99999999999999999999</INSDSeq_length>",
                b"\xff\xfe",
                b"<![CDATA[",
                b"</SequenceData>",
                b'sequenceIDNumber="0"',
                b"<110>",
                b"<400> 1",
                b">x\n",
            ]
        )
    )
    return data[:at] + snippet + data[at:]


@st.composite
def near_valid_listings(draw: st.DrawFn) -> bytes:
    listing = draw(listings())
    base = draw(
        st.sampled_from(
            [
                write_st26(listing),
                write_st25(listing).encode(),
                _st26_skeleton(listing.entries[0].residues),
                b">a\n" + listing.entries[0].residues.encode() + b"\n",
            ]
        )
    )
    data: bytes = base
    for _ in range(draw(st.integers(1, 3))):
        data = _mutate(data, draw)
    return data


@SETTINGS
@given(
    data=st.binary(max_size=2000) | near_valid_listings(),
    fmt=st.sampled_from([None, "st26", "st25", "fasta"]),
)
def test_listing_bytes_parse_or_raise_listing_error(data: bytes, fmt: str | None) -> None:
    try:
        parsed = parse_listing(data, fmt)
    except ListingError as exc:
        assert exc.field == "listing"
        assert exc.message
        return
    assert all(entry.residues for entry in parsed.entries)


# --- meshes -------------------------------------------------------------------------------

CUBE_OFF = (
    b"OFF\n8 6 0\n"
    + b"".join(f"{x} {y} {z}\n".encode() for x in (0, 1) for y in (0, 1) for z in (0, 1))
    + b"4 0 1 3 2\n4 4 6 7 5\n4 0 4 5 1\n4 2 3 7 6\n4 0 2 6 4\n4 1 5 7 3\n"
)
CUBE_OBJ = (
    b"".join(f"v {x} {y} {z}\n".encode() for x in (0, 1) for y in (0, 1) for z in (0, 1))
    + b"f 1 2 4 3\nf 5 7 8 6\nf 1 5 6 2\nf 3 4 8 7\nf 1 3 7 5\nf 2 6 8 4\n"
)
CUBE_PLY = (
    b"ply\nformat ascii 1.0\nelement vertex 8\nproperty float x\nproperty float y\n"
    b"property float z\nelement face 6\nproperty list uchar int vertex_indices\nend_header\n"
    + b"".join(f"{x} {y} {z}\n".encode() for x in (0, 1) for y in (0, 1) for z in (0, 1))
    + b"4 0 1 3 2\n4 4 6 7 5\n4 0 4 5 1\n4 2 3 7 6\n4 0 2 6 4\n4 1 5 7 3\n"
)


def _binary_stl(triangles: int, declared: int | None = None) -> bytes:
    header = b"\0" * 80 + struct.pack("<I", triangles if declared is None else declared)
    body = b"".join(
        struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0) for _ in range(triangles)
    )
    return header + body


ASCII_STL = (
    b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
    b"endloop\nendfacet\nendsolid t\n"
)
MESHES = {
    "off": CUBE_OFF,
    "obj": CUBE_OBJ,
    "ply": CUBE_PLY,
    "stl": _binary_stl(4),
}


@st.composite
def near_valid_meshes(draw: st.DrawFn) -> tuple[bytes, str]:
    fmt = draw(st.sampled_from(["off", "obj", "ply", "stl", "stl-ascii"]))
    data = ASCII_STL if fmt == "stl-ascii" else MESHES[fmt]
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["cut", "flip", "insert", "number"]))
        at = draw(st.integers(0, len(data)))
        if how == "cut":
            data = data[:at]
        elif how == "flip":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif how == "insert":
            data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
        else:
            number = draw(
                st.sampled_from([b"nan", b"inf", b"-1", b"1e308", b"99999999999", b"0", b"-0"])
            )
            data = data[:at] + b" " + number + b" " + data[at:]
    return data, fmt.split("-")[0]


@SETTINGS
@given(
    mesh=near_valid_meshes()
    | st.tuples(st.binary(max_size=600), st.sampled_from(["stl", "obj", "ply", "off", "x"]))
)
def test_mesh_bytes_parse_or_raise_invalid_content(mesh: tuple[bytes, str]) -> None:
    raw, fmt = mesh
    limits = MeshLimits(max_faces=1000)
    try:
        parsed = parse_mesh(raw, fmt, limits)
    except InvalidContent as exc:
        assert exc.field in ("mesh_b64", "format"), exc.field
        return
    assert len(parsed.faces) <= 2 * limits.max_faces
    assert np.isfinite(np.asarray(parsed.vertices)).all()


@SETTINGS
@given(content=st.dictionaries(st.sampled_from(["mesh_b64", "format", "x"]), JSON, max_size=3))
def test_a_mesh_content_object_raises_only_invalid_content(content: dict[str, Any]) -> None:
    try:
        decode_mesh(content)
    except InvalidContent as exc:
        assert exc.field in ("mesh_b64", "format", "x", "content"), exc.field


@pytest.mark.parametrize("fmt", sorted(MESHES))
def test_the_valid_seed_meshes_parse(fmt: str) -> None:
    mesh = decode_mesh({"mesh_b64": base64.b64encode(MESHES[fmt]).decode(), "format": fmt})
    assert len(mesh.faces) >= 4


def test_a_binary_stl_declaring_more_faces_than_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(InvalidContent, match="declares"):
        parse_mesh(_binary_stl(2, declared=10_000_000), "stl")
