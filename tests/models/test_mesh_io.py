"""Mesh files to validated meshes: real STL/OBJ/PLY/OFF files, round trips, and refusals."""

from __future__ import annotations

import base64
import io
import struct
import time
import tracemalloc

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree
from support.data import shared_data

from ipsim.models.base import InvalidContent
from ipsim.models.mesh_geometry import Mesh, face_areas
from ipsim.models.mesh_io import MESH_FORMATS, MeshLimits, declared_faces, decode_mesh, parse_mesh

MESH = shared_data("mesh")
needs_meshes = pytest.mark.skipif(not (MESH / "assimp").is_dir(), reason="shared meshes absent")

# Files whose polygons trimesh 5.2 reads correctly: it is the reference for them.
TRIMESH_READABLE = sorted(
    [f"assimp/{path.name}" for path in (MESH / "assimp").glob("*")]
    + [
        f"cgal/{name}"
        for name in (
            "elephant.off", "anchor.off", "cube_quad.off", "cross_quad.off", "torus_quad.off",
            "degtri_sliding.off", "negative.off", "mesh_with_border.off", "helmet.off",
            "sphere.off", "sphere.ply", "sphere.stl", "colored_tetra.ply",
        )
    ]
)  # fmt: skip
# OFF files mixing polygon sizes: trimesh 5.2 fails on them (numpy 2) or garbles them.
MIXED_POLYGON_OFF = (
    "P.off", "corner_poly.off", "cube_poly.off", "prim.off", "mpi.off",
    "mesh_with_colors.off", "double-torus-3-holes.off", "double-torus-example.off",
)  # fmt: skip

TRIANGLE_OFF = b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
TRIANGLE_OBJ = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
TRIANGLE_PLY = (
    b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
    b"property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
    b"0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
)
TRIANGLE_STL = (
    b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\n"
    b"endloop\nendfacet\nendsolid t\n"
)


def _file(relative: str) -> tuple[bytes, str]:
    path = MESH / relative
    return path.read_bytes(), path.suffix[1:].lower()


def _refusal(raw: bytes, fmt: str, limits: MeshLimits | None = None) -> str:
    with pytest.raises(InvalidContent) as caught:
        parse_mesh(raw, fmt, limits or MeshLimits())
    assert caught.value.field == "mesh_b64"
    return caught.value.message


def _content_refusal(content: object, limits: MeshLimits | None = None) -> InvalidContent:
    with pytest.raises(InvalidContent) as caught:
        decode_mesh(content, limits or MeshLimits())  # type: ignore[arg-type]
    return caught.value


def _binary_stl(triangles: list[tuple[float, ...]], header: bytes = b"binary") -> bytes:
    body = b"".join(struct.pack("<12fH", 0, 0, 0, *corners, 0) for corners in triangles)
    return struct.pack("<80sI", header, len(triangles)) + body


def _area(mesh: Mesh) -> float:
    return float(face_areas(mesh).sum())


# --- real files ---------------------------------------------------------------------


@needs_meshes
@pytest.mark.parametrize("relative", TRIMESH_READABLE)
def test_real_files_match_trimesh(relative: str) -> None:
    raw, fmt = _file(relative)
    reference = trimesh.load(io.BytesIO(raw), file_type=fmt, force="mesh", process=False)
    areas = face_areas(Mesh(np.asarray(reference.vertices, float), np.asarray(reference.faces)))

    mesh = parse_mesh(raw, fmt)

    if fmt == "stl":  # a triangle soup: one vertex per distinct corner
        vertex_count = len(np.unique(reference.vertices, axis=0))
    elif fmt == "obj":  # trimesh splits vertices by texture coordinate: count `v` lines
        vertex_count = sum(line.startswith(b"v ") for line in raw.splitlines())
    else:
        vertex_count = len(reference.vertices)
    assert len(mesh.vertices) == vertex_count
    assert len(mesh.faces) == int((areas > 0).sum())  # zero-area faces are dropped
    assert _area(mesh) == pytest.approx(float(areas.sum()), rel=1e-9)
    assert mesh.vertices.dtype == np.float64 and mesh.vertices.flags.c_contiguous
    assert mesh.faces.dtype == np.int64 and mesh.faces.shape[1] == 3


def _off_polygon_sizes(raw: bytes) -> tuple[int, list[int]]:
    """An OFF file's vertex count and polygon sizes (the oracle for the mixed files)."""
    rows = [line.split(b"#")[0].split() for line in raw.splitlines()]
    rows = [row for row in rows if row]
    counts = rows[1] if rows[0] == [b"OFF"] or rows[0] == [b"COFF"] else rows[0][1:]
    vertices, faces = int(counts[0]), int(counts[1])
    first = len(rows) - len(rows[rows.index(counts) + 1 :])
    return vertices, [int(row[0]) for row in rows[first + vertices : first + vertices + faces]]


@needs_meshes
@pytest.mark.parametrize("name", MIXED_POLYGON_OFF)
def test_off_files_mixing_polygon_sizes_are_fanned(name: str) -> None:
    raw, _ = _file(f"cgal/{name}")
    vertices, sizes = _off_polygon_sizes(raw)

    mesh = parse_mesh(raw, "off")

    assert len(mesh.vertices) == vertices
    # mpi.off has two polygons with three collinear corners in a row: the fan makes a
    # zero-area triangle of each, which is dropped.
    dropped = 2 if name == "mpi.off" else 0
    assert len(mesh.faces) == sum(size - 2 for size in sizes) - dropped


@needs_meshes
def test_polygon_faces_cover_the_surface() -> None:
    # cube_poly: a 2 x 2 x 2 cube of quads and hexagons; prim: the same cube as triangles
    # and quads (its header declares 7 faces, so an eighth face line is not read).
    for name in ("cube_poly.off", "prim.off"):
        assert _area(parse_mesh(*_file(f"cgal/{name}"))) == pytest.approx(24.0)


@needs_meshes
@pytest.mark.parametrize(
    ("files", "faces", "area"),
    [
        (("assimp/Wuson.obj", "assimp/Wuson.off", "assimp/Wuson.stl"), 3732, 9.0258039),
        (("cgal/sphere.off", "cgal/sphere.ply", "cgal/sphere.stl"), 320, 3.0826797),
        (("assimp/Cube.off", "assimp/cube.ply", "assimp/box.obj"), 12, 6.0),
    ],
)
def test_one_object_in_several_formats_gives_one_surface(
    files: tuple[str, ...], faces: int, area: float
) -> None:
    meshes = [parse_mesh(*_file(relative)) for relative in files]
    assert [len(mesh.faces) for mesh in meshes] == [faces] * len(files)
    for mesh in meshes:  # STL stores float32: 1e-7 relative
        assert _area(mesh) == pytest.approx(area, rel=1e-7)


@needs_meshes
def test_binary_stl_whose_header_is_not_solid_and_ascii_stl() -> None:
    raw, _ = _file("assimp/3DSMaxExport.STL")
    assert raw.startswith(b"STLEXP") and len(raw) == 84 + 50 * 2000
    assert len(parse_mesh(raw, "STL").faces) == 2000
    ascii_raw, _ = _file("assimp/Spider_ascii.stl")
    # 1368 facets, 56 of them with zero area (the binary spider.obj has the same 56).
    assert len(parse_mesh(ascii_raw, "stl").faces) == 1312
    assert len(parse_mesh(*_file("assimp/spider.obj")).faces) == 1312


@needs_meshes
def test_a_point_cloud_ply_is_refused() -> None:
    raw, _ = _file("cgal/b9.ply")
    assert _refusal(raw, "ply") == "has no faces, only 22,300 vertices (a point cloud?)"


@needs_meshes
@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "OutOfMemory.off",
            "is not a valid OFF file: the header declares 353,535,235,358 vertices and 6 faces,"
            " but the file has only 17 lines",
        ),
        ("empty.obj", "is empty"),
        ("empty.off", "is empty"),
        ("empty.ply", "is empty"),
        ("invalid.off", "is not a valid OFF file: face 0 (line 6) has 0 vertices; a face needs 3"),
        (
            "malformed.obj",
            "is not a valid OBJ file: line 23: a face references vertex 12, but the file has 8"
            " vertices",
        ),
        (
            "malformed2.obj",
            "is not a valid OBJ file: line 23: a face needs 3 or more vertices, this one has 0",
        ),
    ],
)
def test_assimp_invalid_files_are_refused(name: str, message: str) -> None:
    raw, fmt = _file(f"assimp_invalid/{name}")
    assert _refusal(raw, fmt).startswith(message)


# --- round trips --------------------------------------------------------------------


@needs_meshes
@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("stl", {}),
        ("stl_ascii", {}),
        ("obj", {}),
        ("ply", {"encoding": "binary"}),
        ("ply", {"encoding": "ascii"}),
        ("off", {}),
    ],
)
def test_trimesh_exports_round_trip(fmt: str, options: dict[str, str]) -> None:
    original = parse_mesh(*_file("cgal/elephant.off"))
    exported = trimesh.Trimesh(original.vertices, original.faces, process=False).export(
        file_type=fmt, **options
    )
    raw = exported.encode() if isinstance(exported, str) else exported

    mesh = parse_mesh(raw, fmt.removesuffix("_ascii"))

    used = original.vertices[np.unique(original.faces)]
    assert len(mesh.vertices) == len(used)
    # STL stores float32: the same points to 1e-6 (the elephant is about 1 unit across).
    distances, _ = cKDTree(used).query(mesh.vertices)
    assert distances.max() < 1e-6
    assert len(mesh.faces) == len(original.faces)
    assert _area(mesh) == pytest.approx(_area(original), rel=1e-6)


# --- well-formed variants -----------------------------------------------------------


def test_obj_groups_negative_indices_quads_and_texture_corners() -> None:
    raw = (
        b"# two objects\no first\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n"
        b"vt 0 0\nvn 0 0 1\nf 1/1/1 2/1/1 3//1 4\n"  # a unit square quad
        b"o second\ng part\nv 0 0 1\nv 2 0 1\nv 0 2 1\nf -3 -2 -1\n"  # a triangle of area 2
    )
    mesh = parse_mesh(raw, "obj")
    assert len(mesh.vertices) == 7
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3], [4, 5, 6]]
    assert _area(mesh) == pytest.approx(3.0)


def test_off_variants_comments_colours_and_counts_on_the_keyword_line() -> None:
    raw = b"# a comment\nCOFF 4 1 0\n0 0 0 255 0 0\n1 0 0 0 255 0\n1 1 0 0 0 255\n0 1 0 1 1 1\n"
    mesh = parse_mesh(raw + b"4 0 1 2 3 0.5 0.5 0.5 # a grey quad\n", "off")
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert _area(mesh) == pytest.approx(1.0)


def test_binary_stl_that_starts_with_solid_is_binary() -> None:
    raw = _binary_stl([(0, 0, 0, 1, 0, 0, 0, 1, 0)], header=b"solid exported by a CAD tool")
    mesh = parse_mesh(raw, "stl")
    assert len(mesh.faces) == 1 and _area(mesh) == pytest.approx(0.5)


def test_stl_corners_are_merged_and_degenerate_faces_dropped() -> None:
    square = [(0, 0, 0, 1, 0, 0, 1, 1, 0), (0, 0, 0, 1, 1, 0, 0, 1, 0), (0, 0, 0, 1, 0, 0, 2, 0, 0)]
    mesh = parse_mesh(_binary_stl(square), "stl")
    assert len(mesh.vertices) == 5  # 4 corners of the square, 1 of the flat triangle
    assert len(mesh.faces) == 2
    assert _area(mesh) == pytest.approx(1.0)


def test_ply_quads_are_triangulated() -> None:
    raw = TRIANGLE_PLY.replace(b"vertex 3", b"vertex 4").replace(
        b"0 1 0\n3 0 1 2\n", b"1 1 0\n0 1 0\n4 0 1 2 3\n"
    )
    mesh = parse_mesh(raw, "ply")
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3]]


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [(TRIANGLE_OFF, "off"), (TRIANGLE_OBJ, "obj"), (TRIANGLE_PLY, "ply"), (TRIANGLE_STL, "stl")],
)
def test_decode_mesh_reads_base64_with_line_breaks_and_any_case_format(
    raw: bytes, fmt: str
) -> None:
    encoded = base64.encodebytes(raw).decode("ascii")  # MIME style: a line break every 76
    mesh = decode_mesh({"mesh_b64": encoded, "format": fmt.upper()})
    assert mesh.vertices[mesh.faces].tolist() == [[[0, 0, 0], [1, 0, 0], [0, 1, 0]]]


# --- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        ("not an object", "content", "must be an object"),
        ({"format": "off"}, "mesh_b64", "is required"),
        ({"mesh_b64": "AAAA"}, "format", "is required (one of stl, obj, ply, off)"),
        (
            {"mesh_b64": "AAAA", "format": "3ds"},
            "format",
            "'3ds' is not a mesh format (use one of stl, obj, ply, off)",
        ),
        ({"mesh_b64": "AAAA", "format": 3}, "format", "must be a string"),
        (
            {"mesh_b64": "AAAA", "format": "off", "name": "x"},
            "name",
            "unknown key (a mesh has only mesh_b64 and format)",
        ),
        ({"mesh_b64": 12, "format": "off"}, "mesh_b64", "must be a base64 string, not int"),
        ({"mesh_b64": "", "format": "off"}, "mesh_b64", "is empty"),
        ({"mesh_b64": " \n", "format": "off"}, "mesh_b64", "is empty"),
        ({"mesh_b64": "T0ZG", "format": "off"}, "mesh_b64", "is not a valid OFF file"),
        ({"mesh_b64": "T0Z", "format": "off"}, "mesh_b64", "is not valid base64 (Incorrect"),
        ({"mesh_b64": "T0-_", "format": "off"}, "mesh_b64", "is not valid base64 (Only base64"),
        ({"mesh_b64": "T0ZGAA==AA", "format": "off"}, "mesh_b64", "is not valid base64 (Excess"),
        ({"mesh_b64": "=T0ZG", "format": "off"}, "mesh_b64", "is not valid base64 (Leading"),
        ({"mesh_b64": "Té==", "format": "off"}, "mesh_b64", "is not valid base64"),
    ],
)
def test_bad_content_is_refused(content: object, field: str, message: str) -> None:
    refusal = _content_refusal(content)
    assert refusal.field == field
    assert refusal.message.startswith(message)


def test_too_long_base64_is_refused_before_decoding() -> None:
    limits = MeshLimits(max_bytes=30)
    # 44 characters would hold 33 bytes: refused by their number, before decoding would
    # have found that they are not base64 at all. 40 (30 bytes) reach the decoder.
    refusal = _content_refusal({"mesh_b64": "!" * 44, "format": "off"}, limits)
    assert refusal.message == "is larger than the limit of 30 bytes"
    refusal = _content_refusal({"mesh_b64": "!" * 40, "format": "off"}, limits)
    assert refusal.message.startswith("is not valid base64")


def test_bytes_and_faces_beyond_the_limits_are_refused() -> None:
    assert _refusal(TRIANGLE_OFF, "off", MeshLimits(max_bytes=20)) == (
        f"is {len(TRIANGLE_OFF)} bytes; the limit is 20 bytes"
    )
    quad = b"OFF\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n"
    # One polygon is declared (within a limit of 1), but it makes 2 triangles.
    assert _refusal(quad, "off", MeshLimits(max_faces=1)) == (
        "has 2 triangles after triangulation; the limit is 1"
    )
    two = TRIANGLE_OBJ + b"f 1 3 2\n"
    assert (
        _refusal(two, "obj", MeshLimits(max_faces=1)) == "the file declares 2 faces; the limit is 1"
    )


@pytest.mark.parametrize(
    ("raw", "fmt", "message"),
    [
        (
            b"OFF\n1000000000 1 0\n0 0 0\n",
            "off",
            "is not a valid OFF file: the header declares 1,000,000,000 vertices and 1 face, "
            "but the file has only 4 lines",
        ),
        (
            b"OFF\n3 1000000000 0\n",
            "off",
            "the file declares 1,000,000,000 faces; the limit is 500,000",
        ),
        (
            TRIANGLE_PLY.replace(b"vertex 3", b"vertex 1000000000"),
            "ply",
            "is not a valid PLY file: the header declares 1,000,000,001 rows (vertex "
            "1,000,000,000, face 1), but only 5 lines follow it",
        ),
        (
            TRIANGLE_PLY.replace(b"ascii", b"binary_little_endian").replace(
                b"vertex 3", b"vertex 1000000000"
            ),
            "ply",
            "is not a valid PLY file: the header declares vertex 1,000,000,000, face 1: at least "
            "12,000,000,001 bytes of data, but only 26 bytes follow it",
        ),
        (
            TRIANGLE_PLY.replace(b"face 1", b"face 4000000000"),
            "ply",
            "the file declares 4,000,000,000 faces; the limit is 500,000",
        ),
    ],
)
def test_huge_header_counts_are_refused_without_allocating(
    raw: bytes, fmt: str, message: str
) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        assert _refusal(raw, fmt) == message
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 1_000_000


@pytest.mark.parametrize(
    ("raw", "fmt", "message"),
    [
        # faces referencing missing vertices
        (
            TRIANGLE_OFF.replace(b"3 0 1 2", b"3 0 1 7"),
            "off",
            "face 0 (line 6) references vertex 7, but the mesh has 3 vertices (numbered from 0)",
        ),
        (
            TRIANGLE_OFF.replace(b"3 0 1 2", b"3 0 -1 2"),
            "off",
            "face 0 (line 6) references vertex -1, but the mesh has 3 vertices",
        ),
        (
            TRIANGLE_OBJ + b"f 1 2 4\n",
            "obj",
            "is not a valid OBJ file: line 5: a face references vertex 4, but the file has "
            "3 vertices",
        ),
        (
            TRIANGLE_OBJ + b"f -1 -2 -4\n",
            "obj",
            "is not a valid OBJ file: line 5: a face references vertex -4, but the file has "
            "3 vertices (3 of them before this line)",
        ),
        (
            b"v 0 0 0\nf -1 -2 -3\nv 1 0 0\nv 0 1 0\n",
            "obj",
            "is not a valid OBJ file: line 2: a face references vertex -2, but the file has "
            "3 vertices (1 of them before this line)",
        ),
        (
            TRIANGLE_OBJ.replace(b"f 1 2 3", b"f 0 1 2"),
            "obj",
            "is not a valid OBJ file: line 4: vertex index 0 (OBJ numbers vertices from 1)",
        ),
        (
            TRIANGLE_PLY.replace(b"3 0 1 2", b"3 0 1 5"),
            "ply",
            "a face references vertex 5, but the mesh has 3 vertices (numbered from 0)",
        ),
        # not numbers, short records
        (
            TRIANGLE_OFF.replace(b"0 1 0\n", b"0 1 x\n"),
            "off",
            "is not a valid OFF file: vertex 2 (line 5): 'x' is not a number",
        ),
        (
            TRIANGLE_OFF.replace(b"0 1 0\n", b"0 1\n"),
            "off",
            "is not a valid OFF file: vertex 2 (line 5) has 2 numbers, not 3",
        ),
        (
            TRIANGLE_OFF.replace(b"3 0 1 2", b"4 0 1 2"),
            "off",
            "is not a valid OFF file: face 0 (line 6) declares 4 vertices but lists 3",
        ),
        (
            TRIANGLE_OFF.replace(b"\n3 0 1 2\n", b"\n"),
            "off",
            "is not a valid OFF file: the header declares 3 vertices and 1 face, but only 3 "
            "lines of data follow it",
        ),
        (
            TRIANGLE_OBJ.replace(b"f 1 2 3", b"f 1 2 three"),
            "obj",
            "is not a valid OBJ file: line 4: 'three' is not a number",
        ),
        (
            TRIANGLE_OBJ.replace(b"v 0 1 0", b"v 0 1"),
            "obj",
            "is not a valid OBJ file: line 3: a vertex needs 3 coordinates",
        ),
        (
            TRIANGLE_STL.replace(b"vertex 0 1 0", b"vertex 0 1 O"),
            "stl",
            "is not a valid STL file: vertex line 3: 'O' is not a number",
        ),
        (
            TRIANGLE_STL.replace(b"vertex 0 1 0\n", b""),
            "stl",
            "is not a valid STL file: 1 facets but 2 vertex lines (a facet has exactly 3)",
        ),
        (
            TRIANGLE_PLY.replace(b"property float y\n", b""),
            "ply",
            "is not a valid PLY file: no 'y' property or element",
        ),
        (b"OFF BINARY\n3 1 0\n", "off", "is not a valid OFF file: binary OFF is not supported"),
        # binary STL sizes
        (
            _binary_stl([(0, 0, 0, 1, 0, 0, 0, 1, 0)]) + b"\0",
            "stl",
            "is not a valid STL file: its binary header declares 1 triangle, so it should be "
            "84 + 50 x 1 = 134 bytes, but it is 135 bytes",
        ),
        (
            _binary_stl([(0, 0, 0, 1, 0, 0, 0, 1, 0)] * 3)[:-50],
            "stl",
            "is not a valid STL file: its binary header declares 3 triangles, so it should be "
            "84 + 50 x 3 = 234 bytes, but it is 184 bytes",
        ),
        (b"\x00\x01", "stl", "is not a valid STL file: 2 bytes is shorter than a binary STL's"),
        # non-finite and huge coordinates
        (
            TRIANGLE_OFF.replace(b"0 1 0\n", b"0 nan 0\n"),
            "off",
            "vertex 2 has a non-finite coordinate (0, nan, 0)",
        ),
        (
            TRIANGLE_OBJ.replace(b"v 1 0 0", b"v 1 0 -inf"),
            "obj",
            "vertex 1 has a non-finite coordinate (1, 0, -inf)",
        ),
        (
            _binary_stl([(0, 0, 0, float("inf"), 0, 0, 0, 1, 0)]),
            "stl",
            "vertex 1 has a non-finite coordinate (inf, 0, 0)",
        ),
        (
            TRIANGLE_PLY.replace(b"1 0 0\n", b"1 0 2e9\n"),
            "ply",
            "vertex 1 (1, 0, 2e+09) is beyond the coordinate limit of 1e+09",
        ),
        # no surface
        (TRIANGLE_OBJ.replace(b"f 1 2 3\n", b""), "obj", "has no faces, only 3 vertices"),
        (
            TRIANGLE_OFF.replace(b"0 1 0", b"2 0 0"),
            "off",
            "all of its faces have zero area (1 face)",
        ),
        (
            TRIANGLE_STL.replace(b"vertex 0 1 0", b"vertex 0 0 0"),
            "stl",
            "all of its faces have zero area (1 face)",
        ),
        # the wrong format
        (
            TRIANGLE_OBJ,
            "ply",
            "is not a valid PLY file: no 'ply ... end_header' header at its start (the data "
            "looks like an OBJ file, but format is 'ply')",
        ),
        (
            TRIANGLE_PLY,
            "off",
            "is not a valid OFF file: it starts with 'ply', not 'OFF' (the data looks like a "
            "PLY file, but format is 'off')",
        ),
        (
            TRIANGLE_OFF,
            "obj",
            "holds no vertices and no faces (the data looks like an OFF file, but format is 'obj')",
        ),
        (
            TRIANGLE_OBJ,
            "stl",
            "is not a valid STL file: 32 bytes is shorter than a binary STL's 84-byte header, "
            "and it does not start with 'solid' (ASCII STL) (the data looks like an OBJ file",
        ),
    ],
)
def test_bad_meshes_are_refused_with_the_reason(raw: bytes, fmt: str, message: str) -> None:
    assert _refusal(raw, fmt).startswith(message)


def test_max_coordinate_is_configurable() -> None:
    limits = MeshLimits(max_coordinate=0.5)
    assert _refusal(TRIANGLE_OFF, "off", limits).startswith("vertex 1 (1, 0, 0) is beyond")


def test_parse_mesh_refuses_an_unknown_format_on_the_format_field() -> None:
    with pytest.raises(InvalidContent) as caught:
        parse_mesh(TRIANGLE_OFF, "3mf")
    assert caught.value.field == "format"


# --- declared face counts -----------------------------------------------------------


@needs_meshes
@pytest.mark.parametrize(
    ("relative", "count"),
    [
        ("assimp/Wuson.stl", 3732),  # binary: the header's count
        ("assimp/Spider_ascii.stl", 1368),  # ASCII: the facets
        ("assimp/Wuson.off", 3732),
        ("assimp/Cube.off", 6),  # polygons count once
        ("cgal/sphere.ply", 320),
        ("cgal/b9.ply", 0),
        ("assimp/Wuson.obj", 3732),
        ("assimp/box.obj", 6),
    ],
)
def test_declared_faces_of_real_files(relative: str, count: int) -> None:
    assert declared_faces(*_file(relative)) == count


def test_declared_faces_is_none_when_the_header_says_nothing() -> None:
    assert declared_faces(b"garbage", "off") is None
    assert declared_faces(b"garbage", "ply") is None
    assert declared_faces(_binary_stl([(0,) * 9]) + b"\0", "stl") is None  # size mismatch
    assert declared_faces(TRIANGLE_OFF, "3mf") is None
    assert declared_faces(b"OFF 8 6 0\n", "off") == 6
    assert declared_faces(TRIANGLE_OBJ + b"f 1 2 3\n", "OBJ") == 2
    assert set(MESH_FORMATS) == {"stl", "obj", "ply", "off"}
