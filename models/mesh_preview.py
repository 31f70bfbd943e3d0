"""What a portal shows of a 3D design in a hit list: a thumbnail, a light copy, web formats.

* :func:`thumbnail_png` renders a shaded picture without a display or OpenGL, with numpy
  and PIL alone, so it runs in any server process: faces are sorted far to near and drawn
  as filled polygons in that order (the painter's algorithm), each shaded by Lambert's
  law under one fixed light. Shading is two-sided (``|n · l|``) because meshes in the wild
  have inconsistent winding; a copy with its faces flipped looks the same. The picture is
  drawn at twice the size and scaled down, which smooths the edges. The mesh is first
  normalised and turned onto its principal axes (:mod:`ipsim.models.mesh_geometry`) and
  seen from one fixed three-quarter view, so two copies of one design, however they were
  placed, scaled or triangulated, give nearly the same thumbnail. Its longest axis lies
  across the picture and the camera looks along its thinnest one, which shows the most of
  the shape. The drawing's bounding box is centred and fills the picture.
* :func:`simplified` decimates by quadric error (``fast_simplification``: a few ms for
  tens of thousands of faces, without open3d's import cost); the thumbnail uses it too,
  since a picture of 128 pixels cannot show more than a few thousand faces.
* :func:`to_glb` (binary glTF, what three.js's ``GLTFLoader`` reads) and :func:`to_stl`
  (binary STL) are written by trimesh, in the mesh's own coordinates.
"""

from __future__ import annotations

import io

import fast_simplification
import numpy as np
import numpy.typing as npt
import trimesh
from PIL import Image, ImageDraw

from ipsim.models.base import InvalidContent
from ipsim.models.mesh_geometry import Mesh, face_areas, face_normals, normalise, pca_align

THUMBNAIL_FACES = 3000
"""Faces a thumbnail draws at most; a bigger mesh is decimated to this first."""
SUPERSAMPLE = 2
AZIMUTH_DEG, ELEVATION_DEG = 35.0, 25.0
"""The three-quarter view: turned about the vertical axis, then tilted towards the viewer."""
LIGHT = np.array([-0.4, 0.6, 1.0]) / np.linalg.norm([-0.4, 0.6, 1.0])
"""From the upper left, behind the viewer (view coordinates: x right, y up, z to the eye)."""
AMBIENT = 0.25
BASE_COLOUR = np.array([150.0, 172.0, 204.0])
MARGIN = 0.05
"""Room left around the drawing's bounding box, as a share of the side."""
MIN_SIZE = 16
MIN_FACES = 4


def _rotation(axis: int, degrees: float) -> npt.NDArray[np.float64]:
    """The rotation by ``degrees`` about coordinate axis ``axis`` (for column vectors)."""
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    i, j = (axis + 1) % 3, (axis + 2) % 3  # cyclic, so every axis turns the same way
    matrix = np.eye(3)
    matrix[i, i], matrix[i, j], matrix[j, i], matrix[j, j] = c, -s, s, c
    return matrix


VIEW = _rotation(0, ELEVATION_DEG) @ _rotation(1, AZIMUTH_DEG)
"""Principal-axis frame → view frame."""


def _check_surface(mesh: Mesh) -> None:
    area = float(face_areas(mesh).sum()) if len(mesh.faces) else 0.0
    if not np.isfinite(area) or area <= 0.0:
        raise InvalidContent("mesh_b64", f"the mesh has no surface area ({len(mesh.faces)} faces)")


def simplified(mesh: Mesh, max_faces: int = 2000) -> Mesh:
    """The mesh decimated by quadric error to at most ``max_faces`` faces (as is if it fits)."""
    if max_faces < MIN_FACES:
        raise ValueError(f"max_faces must be at least {MIN_FACES}, got {max_faces}")
    if len(mesh.faces) <= max_faces:
        return mesh
    points, faces = fast_simplification.simplify(
        mesh.vertices, mesh.faces.astype(np.int32), target_count=max_faces
    )
    return Mesh(np.asarray(points, dtype=np.float64), np.asarray(faces, dtype=np.int64))


def _view_frame(mesh: Mesh) -> Mesh:
    """The mesh in the unit sphere, on its principal axes, turned to the three-quarter view."""
    aligned = pca_align(normalise(mesh))
    return Mesh(aligned.vertices @ VIEW.T, aligned.faces)


def _shades(mesh: Mesh) -> npt.NDArray[np.uint8]:
    """``(m, 3)`` RGB per face: ambient plus two-sided Lambert under :data:`LIGHT`."""
    lambert = np.abs(face_normals(mesh) @ LIGHT)
    intensity = AMBIENT + (1.0 - AMBIENT) * lambert
    return np.asarray(np.clip(intensity[:, None] * BASE_COLOUR, 0, 255), dtype=np.uint8)


def _draw(mesh: Mesh, side: int) -> Image.Image:
    """Faces far to near as filled polygons on a transparent ``side`` x ``side`` canvas."""
    triangles = mesh.triangles
    order = np.argsort(triangles[:, :, 2].mean(axis=1), kind="stable")  # far (−z) first
    flat = triangles[order, :, :2] * np.array([1.0, -1.0])  # image y points down
    low, high = flat.reshape(-1, 2).min(axis=0), flat.reshape(-1, 2).max(axis=0)
    scale = side * (1.0 - 2.0 * MARGIN) / max(float((high - low).max()), 1e-12)
    corners = side / 2 + (flat - (low + high) / 2) * scale
    colours = _shades(mesh)[order]
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    draw = ImageDraw.Draw(canvas)
    for points, colour in zip(corners.tolist(), colours.tolist(), strict=True):
        fill = (*colour, 255)
        # The outline closes the hairline cracks between neighbouring filled triangles.
        draw.polygon([tuple(p) for p in points], fill=fill, outline=fill)
    return canvas


def thumbnail_png(mesh: Mesh, size: int = 128) -> bytes:
    """A shaded rendering of the mesh: PNG bytes, ``size`` x ``size``, transparent background."""
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} pixels, got {size}")
    _check_surface(mesh)
    light = simplified(mesh, THUMBNAIL_FACES)
    big = _draw(_view_frame(light), size * SUPERSAMPLE)
    out = io.BytesIO()
    big.resize((size, size), Image.Resampling.BOX).save(out, "PNG", optimize=False)
    return out.getvalue()


def _export(mesh: Mesh, file_type: str) -> bytes:
    data = trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces, process=False).export(
        file_type=file_type
    )
    if not isinstance(data, bytes):  # trimesh returns text or dicts for other formats only
        raise TypeError(f"trimesh exported {type(data).__name__} for {file_type}")
    return data


def to_glb(mesh: Mesh) -> bytes:
    """Binary glTF 2.0 of the mesh (one node, one primitive), as three.js loads it."""
    return _export(mesh, "glb")


def to_stl(mesh: Mesh) -> bytes:
    """Binary STL of the mesh (80-byte header, 50 bytes per face)."""
    return _export(mesh, "stl")
