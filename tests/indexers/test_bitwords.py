"""The words16 codec: packed bits ↔ float32 words ↔ uint64 words, bit order and validation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ipsim.bitwords import bits_to_words16, words16_to_uint64


def _random_bits(n: int, nbits: int, seed: int) -> npt.NDArray[np.bool_]:
    return np.random.default_rng(seed).random((n, nbits)) < 0.3


def test_words16_hold_little_endian_pairs_of_bytes() -> None:
    packed = np.array([[0x01, 0x02, 0xFF, 0x00], [0x00, 0x80, 0x34, 0x12]], dtype=np.uint8)
    words = bits_to_words16(packed)
    assert words.dtype == np.float32
    np.testing.assert_array_equal(words, [[0x0201, 0x00FF], [0x8000, 0x1234]])


def test_uint64_words_keep_the_bit_order_of_the_packed_bits() -> None:
    bits = _random_bits(7, 256, seed=1)
    words = words16_to_uint64(bits_to_words16(np.packbits(bits, axis=1, bitorder="little")))
    assert words.shape == (7, 4) and words.dtype == np.uint64
    # Bit i of the string is bit i % 64 of word i // 64.
    i = np.arange(256)
    got = (words[:, i // 64] >> (i % 64).astype(np.uint64)) & np.uint64(1)
    np.testing.assert_array_equal(got.astype(bool), bits)


def test_round_trip_through_the_float32_store_is_exact() -> None:
    packed = np.packbits(_random_bits(50, 1024, seed=2), axis=1, bitorder="little")
    stored = bits_to_words16(packed).copy()  # what the store keeps and hands back
    words = words16_to_uint64(stored)
    np.testing.assert_array_equal(words.view(np.uint8).reshape(50, -1), packed)


def test_all_ones_and_zeros_survive() -> None:
    packed = np.array([[0xFF] * 8, [0] * 8], dtype=np.uint8)
    words = words16_to_uint64(bits_to_words16(packed))
    np.testing.assert_array_equal(words[:, 0], [np.iinfo(np.uint64).max, 0])


@pytest.mark.parametrize("bad", [-1.0, 65536.0, 1.5, np.nan, np.inf])
def test_a_value_that_is_no_16_bit_word_is_refused(bad: float) -> None:
    words = np.zeros((2, 8), dtype=np.float32)
    words[1, 5] = bad
    with pytest.raises(ValueError, match=r"0\.\.65535.*\[1, 5\]"):
        words16_to_uint64(words)


@pytest.mark.parametrize("shape", [(3,), (2, 6), (2, 3, 4)])
def test_a_row_that_is_not_whole_uint64_words_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        words16_to_uint64(np.zeros(shape, dtype=np.float32))


def test_packed_bits_must_be_uint8_pairs() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        bits_to_words16(np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        bits_to_words16(np.zeros((2, 4), dtype=np.int64))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="numbers"):
        words16_to_uint64(np.zeros((1, 4), dtype=bool))  # type: ignore[arg-type]
