"""``--index SPEC`` parsing: the engine's IndexSpec, checked by the server's own rule."""

from __future__ import annotations

import argparse

import pytest

from ipsim.benchmarks.index_spec import format_index_spec, index_spec_argument, parse_index_spec
from ipsim.engine.types import IndexSpec


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("flat", IndexSpec("flat", {})),
        ("hnsw:M=32,ef_search=64", IndexSpec("hnsw", {"M": 32, "ef_search": 64})),
        (" IVF : nlist=1024 , nprobe=32 ", IndexSpec("ivf", {"nlist": 1024, "nprobe": 32})),
        ("hnsw:rebuild_ratio=0.25", IndexSpec("hnsw", {"rebuild_ratio": 0.25})),
    ],
)
def test_specs_parse_into_index_specs(text: str, spec: IndexSpec) -> None:
    assert parse_index_spec(text) == spec


def test_format_is_the_inverse_of_parse() -> None:
    for text in ("flat", "hnsw:M=32,ef_search=64", "ivf:nlist=1024,nprobe=32"):
        assert format_index_spec(parse_index_spec(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "index.type"),
        ("hnsw:M=1", "index.M: must be in [2, 256]"),
        ("hnsw:bogus=3", "index.bogus: unknown parameter"),
        ("ivf:nlist=4,nprobe=8", "index.nprobe: must be at most nlist"),
        ("hnsw:M", "expected NAME=VALUE"),
        ("hnsw:M=x", "index.M: must be a number"),
        ("hnsw:M=8,M=16", "given twice"),
    ],
)
def test_bad_specs_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_index_spec(text)


def test_argparse_reports_a_bad_spec_as_a_usage_error() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=index_spec_argument)
    assert parser.parse_args(["--index", "flat"]).index == IndexSpec("flat")
    with pytest.raises(SystemExit):
        parser.parse_args(["--index", "hnsw:M=1"])
