"""Generate the Python stubs of ``proto/ipsim/v1/search.proto`` into ``proto/``.

    python -m tools.gen_proto           # (re)write proto/search_pb2.py, .pyi, _grpc.py
    python -m tools.gen_proto --check   # exit 1 when the committed stubs are stale

protoc runs with ``-Iproto`` so the descriptor's file name is ``ipsim/v1/search.proto``
(what reflection clients see). Its outputs land under ``ipsim/v1/`` in a scratch folder;
they are moved flat into ``proto/`` (the package ``ipsim.proto``) and the references to
the module ``ipsim.v1.search_pb2`` are rewritten to ``ipsim.proto.search_pb2``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc  # type: ignore[import-untyped]

PROTO_ROOT = Path(__file__).resolve().parent.parent / "proto"
SOURCE = "ipsim/v1/search.proto"
OUTPUTS = ("search_pb2.py", "search_pb2.pyi", "search_pb2_grpc.py")

# protoc names the generated module after the .proto path; the package we ship is flat.
_REWRITES = (
    ("from ipsim.v1 import search_pb2 as", "from ipsim.proto import search_pb2 as"),
    ("'ipsim.v1.search_pb2'", "'ipsim.proto.search_pb2'"),
)


def generate(proto_root: Path = PROTO_ROOT) -> dict[str, str]:
    """Run protoc over ``SOURCE`` under ``proto_root``; return output file name → text."""
    with tempfile.TemporaryDirectory(prefix="ipsim-proto-") as scratch:
        _protoc(
            proto_root,
            f"--python_out={scratch}",
            f"--pyi_out={scratch}",
            f"--grpc_python_out={scratch}",
        )
        generated = Path(scratch) / Path(SOURCE).parent
        return {name: _rewrite((generated / name).read_text(encoding="utf-8")) for name in OUTPUTS}


def compile_descriptor(proto_root: Path = PROTO_ROOT) -> descriptor_pb2.FileDescriptorProto:
    """The descriptor protoc builds from ``SOURCE`` now (what the stubs must embed)."""
    with tempfile.TemporaryDirectory(prefix="ipsim-proto-") as scratch:
        out = Path(scratch) / "descriptors.pb"
        _protoc(proto_root, f"--descriptor_set_out={out}")
        (compiled,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
        return compiled


def stale_outputs(proto_root: Path = PROTO_ROOT) -> list[str]:
    """The committed stub files under ``proto_root`` that differ from a fresh generation."""
    fresh = generate(proto_root)
    return [
        name
        for name, text in fresh.items()
        if not (proto_root / name).is_file()
        or (proto_root / name).read_text(encoding="utf-8") != text
    ]


def write_outputs(proto_root: Path = PROTO_ROOT) -> list[Path]:
    """Generate and write the stubs flat into ``proto_root``; return the paths written."""
    written = []
    for name, text in generate(proto_root).items():
        path = proto_root / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _protoc(proto_root: Path, *outputs: str) -> None:
    # google/protobuf/*.proto ship inside grpc_tools; protoc does not find them on its own.
    well_known = resources.files("grpc_tools") / "_proto"
    args = ["grpc_tools.protoc", f"-I{proto_root}", f"-I{well_known}", *outputs, SOURCE]
    status = protoc.main(args)
    if status != 0:
        raise RuntimeError(f"protoc failed on {proto_root / SOURCE} (exit {status})")


def _rewrite(text: str) -> str:
    for old, new in _REWRITES:
        text = text.replace(old, new)
    return text


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.gen_proto", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="only report stale stubs (exit 1), write nothing"
    )
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_outputs()
        for name in stale:
            print(f"stale: proto/{name} (run `make proto`)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_outputs():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
