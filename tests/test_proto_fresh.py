"""The committed gRPC stubs in proto/ match proto/ipsim/v1/search.proto (else: `make proto`)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import grpc_version  # type: ignore[import-untyped]

from ipsim.proto import search_pb2
from ipsim.tools import gen_proto


def _without_json_names(
    descriptor: descriptor_pb2.FileDescriptorProto,
) -> descriptor_pb2.FileDescriptorProto:
    # protoc fills json_name in descriptor sets but leaves it out of Python stubs.
    stripped = descriptor_pb2.FileDescriptorProto()
    stripped.CopyFrom(descriptor)
    pending = list(stripped.message_type)
    while pending:
        message = pending.pop()
        for field in message.field:
            field.ClearField("json_name")
        pending.extend(message.nested_type)
    return stripped


def test_committed_stubs_embed_the_descriptor_of_the_proto() -> None:
    committed = descriptor_pb2.FileDescriptorProto.FromString(search_pb2.DESCRIPTOR.serialized_pb)
    assert committed == _without_json_names(gen_proto.compile_descriptor()), (
        "proto/search_pb2*.py are stale: run `make proto`"
    )


def test_committed_stubs_are_what_make_proto_writes() -> None:
    committed = (gen_proto.PROTO_ROOT / "search_pb2_grpc.py").read_text(encoding="utf-8")
    stamp = re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", committed)
    made_with = stamp.group(1) if stamp else "unknown"
    if made_with != grpc_version.VERSION:
        # Another grpcio-tools writes other text for the same proto; the descriptor test
        # above still holds the stubs to the proto.
        pytest.skip(f"stubs made by grpcio-tools {made_with}, {grpc_version.VERSION} installed")
    assert gen_proto.stale_outputs() == [], "run `make proto`"


def test_stubs_live_in_ipsim_proto_under_the_real_proto_path() -> None:
    assert search_pb2.DESCRIPTOR.name == "ipsim/v1/search.proto"
    assert search_pb2.DESCRIPTOR.package == "ipsim.v1"
    assert search_pb2.SearchRequest.__module__ == "ipsim.proto.search_pb2"
    grpc_stub = (gen_proto.PROTO_ROOT / "search_pb2_grpc.py").read_text(encoding="utf-8")
    assert "from ipsim.proto import search_pb2" in grpc_stub
    assert "ipsim.v1 import" not in grpc_stub
    methods = [m.name for m in search_pb2.DESCRIPTOR.services_by_name["SearchService"].methods]
    assert methods == [
        "CreateCollection",
        "ListCollections",
        "GetCollection",
        "DeleteCollection",
        "Upsert",
        "GetDocument",
        "DeleteDocument",
        "Search",
        "SearchMany",
        "SearchStream",
        "CreateWatch",
        "GetWatch",
        "DeleteWatch",
        "ListNotifications",
    ]


def test_a_changed_proto_makes_the_stubs_stale_until_regenerated(tmp_path: Path) -> None:
    source = tmp_path / gen_proto.SOURCE
    source.parent.mkdir(parents=True)
    shutil.copy(gen_proto.PROTO_ROOT / gen_proto.SOURCE, source)
    assert sorted(gen_proto.stale_outputs(tmp_path)) == sorted(gen_proto.OUTPUTS)  # none yet
    gen_proto.write_outputs(tmp_path)
    assert gen_proto.stale_outputs(tmp_path) == []
    text = source.read_text(encoding="utf-8")
    source.write_text(
        text.replace("message Chunk {", "message Chunk {\n  int32 page = 9;"), encoding="utf-8"
    )
    assert set(gen_proto.stale_outputs(tmp_path)) == {"search_pb2.py", "search_pb2.pyi"}
    assert gen_proto.compile_descriptor(tmp_path) != gen_proto.compile_descriptor()


def test_a_broken_proto_fails_loudly(tmp_path: Path) -> None:
    source = tmp_path / gen_proto.SOURCE
    source.parent.mkdir(parents=True)
    source.write_text('syntax = "proto3";\nmessage {', encoding="utf-8")
    with pytest.raises(RuntimeError, match="protoc failed"):
        gen_proto.generate(tmp_path)
