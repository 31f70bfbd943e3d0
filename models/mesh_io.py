"""Mesh files (STL, OBJ, PLY, OFF) from untrusted bytes to a validated :class:`Mesh`.

:func:`decode_mesh` takes a request's ``{"mesh_b64", "format"}`` content; :func:`parse_mesh`
the decoded bytes. Every refusal is an :class:`InvalidContent` naming the content key, with
a message meant for the API user (``query.mesh_b64: ...``), never a stack trace.

Which parser reads what, and why:

* binary STL and PLY go through trimesh's format readers (``trimesh.exchange``), called
  directly so that nothing is re-indexed, merged or looked up on disk (a PLY's texture file);
* ASCII STL, OBJ and OFF are read here. trimesh 5.2 fails on OFF files that mix polygon
  sizes (a numpy 2 ``TypeError``: 6 of the CGAL example meshes) and garbles others
  (``cube_poly.off``); its OBJ reader re-indexes vertices by texture coordinate
  (``spider.obj``: 974 vertices for 762 ``v`` lines), so a bad or negative index could not
  be reported against the line that wrote it; its ASCII STL reader goes through the
  deprecated ``np.fromstring``, whose errors do not say where.

Resource limits (:class:`MeshLimits`) are checked before the expensive work: the base64
length before decoding, the face count a header declares (:func:`declared_faces`) before
parsing, and a header's element counts against the bytes or lines that follow it, so a
header declaring 10⁹ vertices is refused without allocating for them. All counts are
checked again on the parsed mesh.

The result is always triangles: polygons are fanned from their first corner (exact for
convex polygons, which is what mesh exporters write), faces of zero area are dropped, and
an STL's triangle soup has its exactly repeated corners merged, so its vertex count means
the same as other formats'. Unreferenced vertices are kept.
"""

from __future__ import annotations

import binascii
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import trimesh

from ipsim.models.base import InvalidContent
from ipsim.models.mesh_geometry import Mesh, face_areas

MESH_FORMATS: tuple[str, ...] = ("stl", "obj", "ply", "off")
CONTENT_KEYS: tuple[str, ...] = ("mesh_b64", "format")


@dataclass(frozen=True)
class MeshLimits:
    """What one mesh may cost: file size, triangles, and the size of its coordinates."""

    max_bytes: int = 16 * 1024 * 1024
    """Decoded file size."""
    max_faces: int = 500_000
    """Triangles after triangulation (a polygon of n corners counts n - 2)."""
    max_coordinate: float = 1e9
    """The largest ``|x|``, ``|y|`` or ``|z|`` of any vertex."""


Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.int64]
FaceLabel = Callable[[int], str]
"""Names triangle ``t`` of a parse's result the way the file wrote it (``face 3 (line 17)``)."""

_STL_HEADER = 84
_STL_RECORD = 50
_PLY_TYPES = {
    "char": 1, "uchar": 1, "int8": 1, "uint8": 1,
    "short": 2, "ushort": 2, "int16": 2, "uint16": 2,
    "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4,
    "double": 8, "float64": 8,
}  # fmt: skip
_PLY_FORMATS = ("ascii", "binary_little_endian", "binary_big_endian")
_PLY_MAX_HEADER = 64 * 1024
_OFF_KEYWORD = re.compile(r"(ST)?C?N?(4)?(n)?OFF")
_STL_FACET = re.compile(rb"^[ \t]*facet\b", re.IGNORECASE | re.MULTILINE)
_STL_VERTEX = re.compile(rb"^[ \t]*vertex\b([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_OBJ_ELEMENT = re.compile(rb"^[ \t]*[vf][ \t]", re.MULTILINE)
_OBJ_CONTINUATION = re.compile(rb"\\\r?\n")
_OBJ_SLASHES = re.compile(rb"(?<=\S)/\S*")  # the texture and normal parts of a corner
_SNIFF_BYTES = 64 * 1024


class _Malformed(ValueError):
    """A reason the bytes are not a usable mesh; :func:`parse_mesh` adds the field name."""


@dataclass(frozen=True)
class _Parsed:
    """A parser's raw result, before the checks every format shares."""

    vertices: Floats
    faces: Indices
    label: FaceLabel | None = None
    soup: bool = False
    """Every triangle has its own three corners (STL): merged after the checks."""


# --- public API ---------------------------------------------------------------------


def decode_mesh(content: Mapping[str, Any], limits: MeshLimits = MeshLimits()) -> Mesh:
    """Validate ``{"mesh_b64": str, "format": "stl"|"obj"|"ply"|"off"}`` and parse it.

    ``format`` is case-insensitive. Raise :class:`InvalidContent` naming ``mesh_b64``,
    ``format`` or an unknown key.
    """
    return parse_mesh(*mesh_file(content, limits), limits)


def mesh_file(content: Mapping[str, Any], limits: MeshLimits = MeshLimits()) -> tuple[bytes, str]:
    """The file bytes and lower-case format of a mesh content object, checked but not parsed."""
    if not isinstance(content, Mapping):
        raise InvalidContent("content", 'must be an object like {"mesh_b64": ..., "format": ...}')
    unknown = sorted(str(key) for key in content if key not in CONTENT_KEYS)
    if unknown:
        raise InvalidContent(unknown[0], "unknown key (a mesh has only mesh_b64 and format)")
    if "format" not in content:
        raise InvalidContent("format", f"is required (one of {', '.join(MESH_FORMATS)})")
    fmt = _format(content["format"])
    if "mesh_b64" not in content:
        raise InvalidContent("mesh_b64", "is required")
    return _base64_bytes(content["mesh_b64"], limits.max_bytes), fmt


def parse_mesh(
    raw: bytes, fmt: str, limits: MeshLimits = MeshLimits(), field: str = "mesh_b64"
) -> Mesh:
    """Parse and validate a mesh file's bytes; raise :class:`InvalidContent` on ``field``
    (or on ``format`` when ``fmt`` is not one of :data:`MESH_FORMATS`)."""
    fmt = _format(fmt)
    if not raw:
        raise InvalidContent(field, "is empty")
    if len(raw) > limits.max_bytes:
        raise InvalidContent(field, _too_many_bytes(len(raw), limits.max_bytes))
    try:
        declared = declared_faces(raw, fmt)
        if declared is not None and declared > limits.max_faces:
            raise _Malformed(
                f"the file declares {_counted(declared, 'face')}; the limit is {limits.max_faces:,}"
            )
        return _validated(_parse(raw, fmt), limits)
    except _Malformed as exc:
        raise InvalidContent(field, f"{exc}{_format_hint(raw, fmt)}") from None


def declared_faces(raw: bytes, fmt: str) -> int | None:
    """The face count the file states before its data, without parsing the data.

    Binary STL: the header's triangle count; ASCII STL: the ``facet`` lines; OFF: the
    header; PLY: ``element face N`` (0 without a face element); OBJ: the lines starting ``f``.
    Polygons count once each. ``None`` when the header cannot be read or ``fmt`` is unknown.
    """
    fmt = fmt.lower()
    try:
        if fmt == "stl":
            return _stl_declared(raw)
        if fmt == "obj":
            return raw.startswith((b"f ", b"f\t")) + raw.count(b"\nf ") + raw.count(b"\nf\t")
        if fmt == "off":
            return _off_header(_off_data_lines(raw[:_SNIFF_BYTES])).faces
        if fmt == "ply":
            return _ply_header(raw).count("face")
    except _Malformed:
        return None
    return None


# --- content ------------------------------------------------------------------------


def _format(value: object) -> str:
    allowed = ", ".join(MESH_FORMATS)
    if not isinstance(value, str):
        raise InvalidContent("format", f"must be a string (one of {allowed})")
    fmt = value.lower()
    if fmt not in MESH_FORMATS:
        raise InvalidContent("format", f"{value!r} is not a mesh format (use one of {allowed})")
    return fmt


def _base64_bytes(value: object, max_bytes: int) -> bytes:
    """Strict standard base64 (``+/``, padded); line breaks and spaces are ignored."""
    if not isinstance(value, str):
        raise InvalidContent("mesh_b64", f"must be a base64 string, not {type(value).__name__}")
    compact = "".join(value.split())
    # 4 characters per 3 bytes: a longer string decodes to more than max_bytes, so it is
    # refused before anything is decoded.
    if len(compact) > (max_bytes + 2) // 3 * 4:
        raise InvalidContent("mesh_b64", f"is larger than the limit of {max_bytes:,} bytes")
    if not compact:
        raise InvalidContent("mesh_b64", "is empty")
    try:
        raw = binascii.a2b_base64(compact.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidContent("mesh_b64", f"is not valid base64 ({exc})") from None
    if len(raw) > max_bytes:
        raise InvalidContent("mesh_b64", _too_many_bytes(len(raw), max_bytes))
    return raw


def _too_many_bytes(size: int, limit: int) -> str:
    return f"is {size:,} bytes; the limit is {limit:,} bytes"


def _format_hint(raw: bytes, fmt: str) -> str:
    """A note for data that looks like another format than the one it was sent as."""
    looks = sniff_format(raw)
    if looks is None or looks == fmt:
        return ""
    article = "an" if looks in ("obj", "off") else "a"
    return f" (the data looks like {article} {looks.upper()} file, but format is {fmt!r})"


def sniff_format(raw: bytes) -> str | None:
    """The mesh format the bytes look like (``ply``, ``off``, ``obj``, ``stl``…), or None."""
    head = raw[:_SNIFF_BYTES].lstrip()
    first = head[:16].split(None, 1)[0].decode("latin-1") if head else ""
    if first.lower() == "ply":
        return "ply"
    if _OFF_KEYWORD.fullmatch(first):
        return "off"
    if head[:5].lower() == b"solid" or _stl_binary_count(raw) is not None:
        return "stl"
    if _OBJ_ELEMENT.search(head):
        return "obj"
    return None


# --- shared checks ------------------------------------------------------------------


def _parse(raw: bytes, fmt: str) -> _Parsed:
    parsers: dict[str, Callable[[bytes], _Parsed]] = {
        "stl": _parse_stl,
        "obj": _parse_obj,
        "ply": _parse_ply,
        "off": _parse_off,
    }
    return parsers[fmt](raw)


def _validated(parsed: _Parsed, limits: MeshLimits) -> Mesh:
    """The checks every format shares; merges a soup's corners, drops zero-area faces."""
    vertices, faces = parsed.vertices, parsed.faces
    if len(faces) == 0:
        raise _Malformed(_no_faces(len(vertices)))
    if len(faces) > limits.max_faces:
        raise _Malformed(
            f"has {len(faces):,} triangles after triangulation; the limit is {limits.max_faces:,}"
        )
    _check_indices(faces, len(vertices), parsed.label)
    _check_coordinates(vertices, limits.max_coordinate)
    if parsed.soup:
        vertices, faces = _merge_corners(vertices, faces)
    mesh = Mesh(np.ascontiguousarray(vertices, dtype=np.float64), faces.astype(np.int64))
    kept = face_areas(mesh) > 0
    if not kept.any():
        raise _Malformed(f"all of its faces have zero area ({_counted(len(faces), 'face')})")
    return mesh if kept.all() else Mesh(mesh.vertices, np.ascontiguousarray(mesh.faces[kept]))


def _no_faces(vertices: int) -> str:
    if vertices == 0:
        return "holds no vertices and no faces"
    return f"has no faces, only {_counted(vertices, 'vertex')} (a point cloud?)"


def _check_indices(faces: Indices, count: int, label: FaceLabel | None) -> None:
    bad = (faces < 0) | (faces >= count)
    if not bad.any():
        return
    triangle, corner = np.argwhere(bad)[0]
    where = label(int(triangle)) if label else "a face"
    raise _Malformed(
        f"{where} references vertex {faces[triangle, corner]}, "
        f"but the mesh has {count:,} vertices (numbered from 0)"
    )


def _check_coordinates(vertices: Floats, limit: float) -> None:
    finite = np.isfinite(vertices).all(axis=1)
    if not finite.all():
        index = int(np.argmin(finite))
        raise _Malformed(f"vertex {index} has a non-finite coordinate {_point(vertices[index])}")
    beyond = (np.abs(vertices) > limit).any(axis=1)
    if beyond.any():
        index = int(np.argmax(beyond))
        raise _Malformed(
            f"vertex {index} {_point(vertices[index])} is beyond the coordinate limit of {limit:g}"
        )


def _merge_corners(vertices: Floats, faces: Indices) -> tuple[Floats, Indices]:
    """One vertex per distinct position: an STL repeats every shared corner.

    A lexicographic sort and a scan for changes: what ``np.unique(axis=0)`` does, several
    times faster (0.2 s instead of 1.6 s for a million corners).
    """
    order = np.lexsort(vertices.T[::-1])
    ordered = vertices[order]
    starts = np.ones(len(ordered), dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(len(ordered), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], inverse[faces]


def _counted(count: int, noun: str) -> str:
    plural = noun[:-2] + "ices" if noun.endswith("ex") else noun + "s"
    return f"{count:,} {noun if count == 1 else plural}"


def _point(row: Floats) -> str:
    return "(" + ", ".join(f"{value:g}" for value in row) + ")"


def _invalid(fmt: str, detail: str) -> _Malformed:
    return _Malformed(f"is not a valid {fmt} file: {detail}")


def _numbers(
    tokens: Sequence[str] | Sequence[bytes],
    dtype: type[Any],
    fmt: str,
    describe: Callable[[int], str],
) -> Any:
    """``tokens`` as one numpy array; a token that is not a number is named by
    ``describe(its position)``."""
    try:
        return np.array(tokens, dtype=dtype)
    except (ValueError, OverflowError):
        for position, token in enumerate(tokens):
            try:
                np.array([token], dtype=dtype)
            except (ValueError, OverflowError):
                shown = token.decode("latin-1") if isinstance(token, bytes) else token
                detail = f"{describe(position)}: {shown[:40]!r} is not a number"
                raise _invalid(fmt, detail) from None
        raise


def _fan(sizes: Indices) -> tuple[Indices, Indices]:
    """Fan polygons of ``sizes`` corners, stored one after another, from their first
    corners: each triangle's polygon, and the positions of its three corners."""
    owners = np.repeat(np.arange(len(sizes)), sizes - 2)
    firsts = (np.cumsum(sizes) - sizes)[owners]
    steps = np.arange(len(owners)) - (np.cumsum(sizes - 2) - (sizes - 2))[owners] + 1
    return owners, np.stack([firsts, firsts + steps, firsts + steps + 1], axis=1)


# --- STL ----------------------------------------------------------------------------


def _stl_binary_count(raw: bytes) -> int | None:
    """The triangle count of a well-formed binary STL (its size matches), else ``None``."""
    if len(raw) < _STL_HEADER:
        return None
    count = int.from_bytes(raw[80:84], "little")
    return count if len(raw) == _STL_HEADER + _STL_RECORD * count else None


def _stl_is_ascii(raw: bytes) -> bool:
    # Binary STLs may start with "solid" too (some exporters write it into the header);
    # their float data holds NUL bytes somewhere, ASCII text never does.
    return raw.lstrip()[:5].lower() == b"solid" and b"\0" not in raw


def _stl_declared(raw: bytes) -> int | None:
    count = _stl_binary_count(raw)
    if count is not None:
        return count
    # A binary header whose count does not match the size is no count: parsing says why.
    return len(_STL_FACET.findall(raw)) if _stl_is_ascii(raw) else None


def _parse_stl(raw: bytes) -> _Parsed:
    if _stl_binary_count(raw) is not None:
        loaded = trimesh.exchange.stl.load_stl_binary(io.BytesIO(raw))
        vertices = np.asarray(loaded.get("vertices", np.zeros((0, 3))), dtype=np.float64)
        faces = np.asarray(loaded.get("faces", np.zeros((0, 3))), dtype=np.int64)
        return _Parsed(vertices.reshape(-1, 3), faces.reshape(-1, 3), soup=True)
    if _stl_is_ascii(raw):
        return _parse_stl_ascii(raw)
    if len(raw) < _STL_HEADER:
        raise _invalid(
            "STL",
            f"{len(raw)} bytes is shorter than a binary STL's {_STL_HEADER}-byte header, "
            "and it does not start with 'solid' (ASCII STL)",
        )
    count = int.from_bytes(raw[80:84], "little")
    expected = _STL_HEADER + _STL_RECORD * count
    raise _invalid(
        "STL",
        f"its binary header declares {_counted(count, 'triangle')}, so it should be "
        f"{_STL_HEADER} + {_STL_RECORD} x {count:,} = {expected:,} bytes, "
        f"but it is {len(raw):,} bytes",
    )


def _parse_stl_ascii(raw: bytes) -> _Parsed:
    facets = len(_STL_FACET.findall(raw))
    rows = [match.split() for match in _STL_VERTEX.findall(raw)]
    if len(rows) != 3 * facets:
        raise _invalid(
            "STL", f"{facets:,} facets but {len(rows):,} vertex lines (a facet has exactly 3)"
        )
    short = next((number for number, row in enumerate(rows) if len(row) != 3), None)
    if short is not None:
        detail = f"vertex line {short + 1} has {len(rows[short])} numbers, not 3"
        raise _invalid("STL", detail)
    tokens = [token for row in rows for token in row]
    vertices = _numbers(tokens, np.float64, "STL", lambda at: f"vertex line {at // 3 + 1}").reshape(
        -1, 3
    )
    faces = np.arange(len(vertices), dtype=np.int64).reshape(-1, 3)
    return _Parsed(vertices, faces, soup=True)


# --- OBJ ----------------------------------------------------------------------------


def _parse_obj(raw: bytes) -> _Parsed:
    """``v x y z [...]`` and ``f a b c ...`` (``a``, ``a/t``, ``a//n`` or ``a/t/n``: 1-based,
    negative counts back from the vertices so far); every other statement is ignored, so
    objects and groups become one mesh.

    Lines are classified by list comprehensions and their numbers converted by numpy in
    bulk (a 13 MB file in under a second). A ``\\``-continued line counts as one line.
    """
    lines = [line.lstrip() for line in _OBJ_CONTINUATION.sub(b" ", raw).split(b"\n")]
    vertex_lines = np.array(
        [at for at, line in enumerate(lines) if line[:2] in (b"v ", b"v\t")], dtype=np.int64
    )
    face_lines = np.array(
        [at for at, line in enumerate(lines) if line[:1] == b"f" and line[1:2] in b" \t\r"],
        dtype=np.int64,
    )
    vertices = _obj_vertices(lines, vertex_lines)
    if len(face_lines) == 0:
        return _Parsed(vertices, np.zeros((0, 3), dtype=np.int64))
    rests = [lines[at][1:].split(b"#", 1)[0] for at in face_lines]
    sizes = np.array([len(rest.split()) for rest in rests], dtype=np.int64)
    if (sizes < 3).any():
        at = int(np.argmax(sizes < 3))
        detail = f"a face needs 3 or more vertices, this one has {sizes[at]}"
        raise _invalid("OBJ", f"line {face_lines[at] + 1}: {detail}")
    before = np.searchsorted(vertex_lines, face_lines)  # vertices defined before each face
    corners = _obj_corners(rests, sizes, face_lines, before, len(vertices))
    owners, faces = _fan(sizes)
    return _Parsed(
        vertices, corners[faces], lambda t: f"the face on line {face_lines[owners[t]] + 1}"
    )


def _obj_vertices(lines: Sequence[bytes], vertex_lines: Indices) -> Floats:
    rows = [lines[at].split()[1:4] for at in vertex_lines]
    short = next((at for at, row in enumerate(rows) if len(row) < 3), None)
    if short is not None:
        where = f"line {vertex_lines[short] + 1}"
        raise _invalid("OBJ", f"{where}: a vertex needs 3 coordinates")
    tokens = [token for row in rows for token in row]

    def name(at: int) -> str:
        return f"line {vertex_lines[at // 3] + 1}"

    values = _numbers(tokens, np.float64, "OBJ", name)
    return np.asarray(values, dtype=np.float64).reshape(-1, 3)


def _obj_corners(
    rests: Sequence[bytes], sizes: Indices, face_lines: Indices, before: Indices, count: int
) -> Indices:
    """Every face corner's 0-based vertex index, in file order. ``rests``: the face lines
    after the ``f``; ``before``: how many vertices come before each face."""
    tokens = _OBJ_SLASHES.sub(b"", b" ".join(rests)).split()
    owners = np.repeat(np.arange(len(rests)), sizes)

    def name(at: int) -> str:
        return f"line {face_lines[owners[at]] + 1}"

    written = np.asarray(_numbers(tokens, np.int64, "OBJ", name), dtype=np.int64)
    earlier = before[owners]
    resolved = np.where(written > 0, written - 1, earlier + written)
    bad = (written == 0) | (resolved < 0) | (resolved >= count)
    if bad.any():
        at = int(np.argmax(bad))
        problem = (
            "vertex index 0 (OBJ numbers vertices from 1)"
            if written[at] == 0
            else f"a face references vertex {written[at]}, but the file has {count:,} "
            f"vertices ({earlier[at]:,} of them before this line)"
        )
        raise _invalid("OBJ", f"{name(at)}: {problem}")
    return np.asarray(resolved, dtype=np.int64)


# --- OFF ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _OffHeader:
    vertices: int
    faces: int
    start: int
    """The index of the first vertex line in the data lines."""

    @property
    def declared(self) -> str:
        return f"{_counted(self.vertices, 'vertex')} and {_counted(self.faces, 'face')}"


DataLines = Sequence[tuple[int, str]]
"""``(line number, text)`` of the lines that hold data, comments removed."""


def _off_data_lines(raw: bytes) -> list[tuple[int, str]]:
    text = raw.decode("latin-1")  # every byte maps: junk reaches the number parser
    if "#" in text:
        return [
            (number, data)
            for number, line in enumerate(text.splitlines(), 1)
            if (data := line.split("#", 1)[0]).strip()
        ]
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def _off_header(lines: DataLines) -> _OffHeader:
    """The keyword (optional) and the counts at the start of ``lines``."""
    if not lines:
        raise _invalid("OFF", "it is empty")
    tokens = lines[0][1].split()
    start = 1
    keyword = _OFF_KEYWORD.fullmatch(tokens[0])
    if keyword is not None:
        if keyword[2] or keyword[3]:
            raise _invalid("OFF", f"{tokens[0]} (not 3-dimensional) is not supported")
        if tokens[1:2] == ["BINARY"]:
            raise _invalid("OFF", "binary OFF is not supported (send ASCII OFF, STL or PLY)")
        if len(tokens) == 1:  # the counts are on the next line
            tokens = lines[1][1].split() if len(lines) > 1 else []
            start = 2
        else:
            tokens = tokens[1:]
    elif not tokens[0].isdigit():  # the keyword is optional, the counts are not
        raise _invalid("OFF", f"it starts with {lines[0][1].strip()[:40]!r}, not 'OFF'")
    if len(tokens) < 2 or not all(token.isdigit() for token in tokens[:3]):
        got = " ".join(tokens)[:40]
        raise _invalid("OFF", f"expected the counts 'vertices faces edges', got {got!r}")
    return _OffHeader(int(tokens[0]), int(tokens[1]), start)


def _parse_off(raw: bytes) -> _Parsed:
    """OFF/COFF/NOFF/STOFF: a vertex per line (numbers after x y z, such as colours,
    ignored), then ``n i1 ... in [colour]`` per face, 0-based."""
    available = raw.count(b"\n") + 1
    header = _off_header(_off_data_lines(raw[:_SNIFF_BYTES]))
    if header.vertices + header.faces > available:  # refused before anything is allocated
        raise _invalid(
            "OFF",
            f"the header declares {header.declared}, but the file has only {available:,} lines",
        )
    lines = _off_data_lines(raw)
    first_face = header.start + header.vertices
    if len(lines) < first_face + header.faces:
        raise _invalid(
            "OFF",
            f"the header declares {header.declared}, "
            f"but only {len(lines) - header.start:,} lines of data follow it",
        )
    vertices = _off_vertices(lines[header.start : first_face])
    face_lines = lines[first_face : first_face + header.faces]
    faces, owners = _off_faces(face_lines)
    return _Parsed(vertices, faces, lambda t: _off_face_name(face_lines, int(owners[t])))


def _off_vertices(lines: DataLines) -> Floats:
    tokens = " ".join(text for _, text in lines).split()
    if len(tokens) != 3 * len(lines):  # not x y z on every line: take each line's first 3
        rows = [text.split() for _, text in lines]
        short = next((index for index, row in enumerate(rows) if len(row) < 3), None)
        if short is not None:
            detail = (
                f"vertex {short} (line {lines[short][0]}) has {len(rows[short])} numbers, not 3"
            )
            raise _invalid("OFF", detail)
        tokens = [token for row in rows for token in row[:3]]

    def name(at: int) -> str:
        return f"vertex {at // 3} (line {lines[at // 3][0]})"

    return np.asarray(_numbers(tokens, np.float64, "OFF", name), dtype=np.float64).reshape(-1, 3)


def _off_faces(lines: DataLines) -> tuple[Indices, Indices]:
    """The triangles, and the face (index into ``lines``) each one comes from."""
    tokens = " ".join(text for _, text in lines).split()
    if len(tokens) == 4 * len(lines) and all(size == "3" for size in tokens[::4]):
        del tokens[::4]  # only triangles, nothing after them: the common case
        sizes = np.full(len(lines), 3, dtype=np.int64)
    else:  # polygons, or colours after the indices
        rows = [text.split() for _, text in lines]
        sizes = np.array(
            [_off_face_size(row, index, lines[index][0]) for index, row in enumerate(rows)],
            dtype=np.int64,
        )
        tokens = [
            token for row, size in zip(rows, sizes, strict=True) for token in row[1 : 1 + size]
        ]
    token_faces = np.repeat(np.arange(len(lines)), sizes)

    def name(at: int) -> str:
        return _off_face_name(lines, int(token_faces[at]))

    indices = np.asarray(_numbers(tokens, np.int64, "OFF", name), dtype=np.int64)
    owners, corners = _fan(sizes)
    return indices[corners], owners


def _off_face_name(lines: DataLines, index: int) -> str:
    return f"face {index} (line {lines[index][0]})"


def _off_face_size(tokens: list[str], index: int, line: int) -> int:
    where = f"face {index} (line {line})"
    if not tokens[0].isdigit():
        raise _invalid("OFF", f"{where} starts with {tokens[0][:40]!r}, not a vertex count")
    size = int(tokens[0])
    if size < 3:
        raise _invalid("OFF", f"{where} has {size} vertices; a face needs 3 or more")
    if len(tokens) < 1 + size:
        raise _invalid("OFF", f"{where} declares {size} vertices but lists {len(tokens) - 1}")
    return size


# --- PLY ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _PlyElement:
    name: str
    count: int
    row_bytes: int = 0
    """A binary row's smallest size: its scalars plus its lists' counts."""


@dataclass(frozen=True)
class _PlyHeader:
    format: str
    elements: tuple[_PlyElement, ...]
    body: int
    """The byte offset where the data starts."""

    def count(self, name: str) -> int:
        return sum(element.count for element in self.elements if element.name == name)


def _ply_header(raw: bytes) -> _PlyHeader:
    end = raw.find(b"end_header", 0, _PLY_MAX_HEADER)
    if raw[:3] != b"ply" or end < 0:
        raise _invalid("PLY", "no 'ply ... end_header' header at its start")
    fmt = ""
    elements: list[_PlyElement] = []
    for line in raw[:end].decode("latin-1").splitlines()[1:]:
        tokens = line.split()
        if not tokens or tokens[0] in ("comment", "obj_info"):
            continue
        if tokens[0] == "format" and len(tokens) == 3:
            fmt = tokens[1]
        elif tokens[0] == "element" and len(tokens) == 3 and tokens[2].isdigit():
            elements.append(_PlyElement(tokens[1], int(tokens[2])))
        elif tokens[0] == "property" and elements:
            last = elements[-1]
            size = last.row_bytes + _ply_property_bytes(tokens)
            elements[-1] = _PlyElement(last.name, last.count, size)
        else:
            raise _invalid("PLY", f"bad header line {line.strip()[:60]!r}")
    if fmt not in _PLY_FORMATS:
        raise _invalid("PLY", f"unknown data format {fmt!r} (use one of {', '.join(_PLY_FORMATS)})")
    body = raw.find(b"\n", end) + 1 or len(raw)
    return _PlyHeader(fmt, tuple(elements), body)


def _ply_property_bytes(tokens: list[str]) -> int:
    """The bytes a ``property TYPE NAME`` takes, or a ``property list COUNT TYPE NAME``'s
    count."""
    if len(tokens) == 3 and tokens[1] in _PLY_TYPES:
        return _PLY_TYPES[tokens[1]]
    if len(tokens) == 5 and tokens[1] == "list" and {tokens[2], tokens[3]} <= set(_PLY_TYPES):
        return _PLY_TYPES[tokens[2]]
    raise _invalid("PLY", f"bad header line {' '.join(tokens)[:60]!r}")


def _ply_check_size(raw: bytes, header: _PlyHeader) -> None:
    """Refuse element counts the data cannot hold, before anything is allocated for them.

    ASCII: every row is a line. Binary: a row is at least its scalars and list counts.
    """
    declared = ", ".join(f"{element.name} {element.count:,}" for element in header.elements)
    if header.format == "ascii":
        rows = sum(element.count for element in header.elements)
        lines = raw.count(b"\n", header.body) + 1
        if rows > lines:
            raise _invalid(
                "PLY",
                f"the header declares {rows:,} rows ({declared}), but only "
                f"{_counted(lines, 'line')} follow it",
            )
        return
    needed = sum(element.count * element.row_bytes for element in header.elements)
    if needed > len(raw) - header.body:
        raise _invalid(
            "PLY",
            f"the header declares {declared}: at least {needed:,} bytes of data, "
            f"but only {_counted(len(raw) - header.body, 'byte')} follow it",
        )


def _parse_ply(raw: bytes) -> _Parsed:
    header = _ply_header(raw)
    _ply_check_size(raw, header)
    if header.count("face") == 0:
        raise _Malformed(_no_faces(header.count("vertex")))
    try:
        loaded = trimesh.exchange.ply.load_ply(
            io.BytesIO(raw), resolver=None, fix_texture=False, skip_materials=True
        )
        vertices = np.asarray(loaded["vertices"], dtype=np.float64).reshape(-1, 3)
        polygons = np.asarray(loaded.get("faces", np.zeros((0, 0))), dtype=np.int64)
    except MemoryError:
        raise
    except Exception as exc:  # trimesh raises many types for bad data: all mean "corrupt"
        reason = _reason(exc)
        if header.format != "ascii" and "unexpected length" in reason:
            reason = (
                "its data is not as long as the header says (binary PLY faces that mix "
                "polygon sizes are not supported: send those as ASCII PLY, OBJ or OFF)"
            )
        raise _invalid("PLY", reason) from None
    # trimesh fans lists of mixed sizes itself, but returns lists of one size as they are.
    if polygons.ndim != 2 or polygons.shape[1] < 3:
        detail = "its faces are not lists of 3 or more vertex indices (vertex_indices)"
        raise _invalid("PLY", detail)
    _, corners = _fan(np.full(len(polygons), polygons.shape[1], dtype=np.int64))
    return _Parsed(vertices, polygons.reshape(-1)[corners])


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):  # trimesh looks up the properties it needs by name
        return f"no {exc.args[0]!r} property or element"
    text = str(exc).strip() or type(exc).__name__
    return text[:200]


__all__ = [
    "CONTENT_KEYS",
    "MESH_FORMATS",
    "MeshLimits",
    "declared_faces",
    "decode_mesh",
    "parse_mesh",
    "sniff_format",
]
