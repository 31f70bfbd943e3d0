"""The text encoder: real all-MiniLM-L6-v2 weights, chunking, validation, local model dirs."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest

from ipsim.models.base import InvalidContent
from ipsim.models.registry import (
    UnknownModel,
    bundled_text_model_dir,
    load_encoder,
    resolve_text_model,
)
from ipsim.models.text import TextEncoder


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    enc = load_encoder("text", None, device="cpu", chunk_tokens=32, chunk_overlap=8)
    assert isinstance(enc, TextEncoder)
    return enc


def test_embeddings_are_normalised_and_rank_paraphrases_above_unrelated_text(
    encoder: TextEncoder,
) -> None:
    vectors = encoder.encode(
        [
            "A battery electrode made of lithium iron phosphate",
            "Cathode for a lithium-ion cell comprising LiFePO4",
            "A method of brewing beer with reduced gluten",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_short_text_is_one_unit_covering_everything(encoder: TextEncoder) -> None:
    prepared = encoder.preprocess({"text": "rollable display device"}, "document")
    assert prepared.units == ["rollable display device"]
    assert (prepared.spans[0].start, prepared.spans[0].end) == (0, 23)


def test_long_text_is_split_into_overlapping_windows_that_cover_it(encoder: TextEncoder) -> None:
    text = " ".join(f"word{i}" for i in range(200))
    prepared = encoder.preprocess({"text": text}, "document")
    spans = prepared.spans
    assert len(spans) > 3
    assert spans[0].start == 0 and spans[-1].end == len(text)
    for before, after in itertools.pairwise(spans):
        assert after.start < before.end  # consecutive windows overlap
    assert prepared.units[1] == text[spans[1].start : spans[1].end]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x", "txt": "typo"}, "txt"),
    ],
)
def test_bad_content_names_the_field(
    encoder: TextEncoder, content: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidContent) as caught:
        encoder.preprocess(content, "document")
    assert caught.value.field == field


def test_a_local_model_directory_gives_the_same_vectors(
    encoder: TextEncoder, tmp_path: Path
) -> None:
    copy = tmp_path / "my-model"
    shutil.copytree(bundled_text_model_dir(), copy)
    other = load_encoder("text", str(copy), device="cpu", chunk_tokens=32, chunk_overlap=8)
    sentence = ["heat exchanger with corrugated fins"]
    assert np.allclose(other.encode(sentence), encoder.encode(sentence), atol=1e-5)


def test_a_plain_hugging_face_directory_loads_with_mean_pooling(
    encoder: TextEncoder, tmp_path: Path
) -> None:
    plain = tmp_path / "hf-model"
    shutil.copytree(
        bundled_text_model_dir(),
        plain,
        ignore=shutil.ignore_patterns(
            "modules.json",
            "sentence_bert_config.json",
            "config_sentence_transformers.json",
            "1_Pooling",
        ),
    )
    other = load_encoder("text", str(plain), device="cpu", chunk_tokens=32, chunk_overlap=8)
    sentence = ["heat exchanger with corrugated fins"]
    # all-MiniLM-L6-v2 is itself mean pooling + normalisation, so the vectors agree.
    assert np.allclose(other.encode(sentence), encoder.encode(sentence), atol=1e-4)


def test_unknown_model_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(UnknownModel, match="model directory"):
        resolve_text_model(str(tmp_path / "missing"))


def test_the_short_text_shortcut_agrees_with_the_tokenizer(encoder: TextEncoder) -> None:
    # chunk_tokens=32 here: 16 bytes or fewer skip the tokenizer; just above goes through it.
    short, longer = "a b c d e f g h", "a b c d e f g h i j k l m n o p q r s t u v w x y z " * 3
    assert encoder.chunk_spans(short)[0].end == len(short)
    assert len(encoder.chunk_spans(longer)) > 1
