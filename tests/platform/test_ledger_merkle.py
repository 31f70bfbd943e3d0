"""RFC 6962 hashing and proofs: against an independent implementation written here from the
RFC's recursive definitions (§2.1, §2.1.1, §2.1.2), and against Certificate Transparency's
published test vectors (google/certificate-transparency, python/ct/crypto/merkle_test.py:
the eight-leaf tree heads, consistency proofs "lifted from the C++ branch", and an audit path
from a production log of 3,630,887 entries)."""

from __future__ import annotations

import hashlib

import pytest

from ipsim.platform.ledger import merkle

# --- the independent reference: the RFC's text, literally ---------------------------


def mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) over raw entries."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


# --- Certificate Transparency's vectors ---------------------------------------------

CT_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "60616263646566676869"
              "6a6b6c6d6e6f")
]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_CONSISTENCY = [  # (first, second, proof)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CT_AUDIT_PATH = [
    "1a208aeebcd1b39fe2de247ee8db9454e1e93a312d206b87f6ca9cc6ec6f1ddd",
    "0a1b78b383f580856f433c01a5741e160d451c185910027f6cc9f828687a40c4",
    "3d1745789bc63f2da15850de1c12a5bf46ed81e1cc90f086148b1662e79aab3d",
    "9095b61e14d8990acf390905621e62b1714fb8e399fbb71de5510e0aef45affe",
    "0a332b91b8fab564e6afd1dd452449e04619b18accc0ff9aa8393cd4928451f2",
    "2336f0181d264aed6d8f3a6507ca14a8d3b3c3a23791ac263e845d208c1ee330",
    "b4ce56e300590500360c146c6452edbede25d4ed83919278749ee5dbe178e048",
    "933f6ddc848ea562e4f9c5cfb5f176941301dad0c6fdb9d1fbbe34fac1be6966",
    "b95a6222958a86f74c030be27c44f57dbe313e5e7c7f4ffb98bcbd3a03bb52f2",
    "daeeb3ce5923defd0faeb8e0c210b753b85b809445d7d3d3cd537a9aabaa9c45",
    "7fadd0a13e9138a2aa6c3fdec4e2275af233b94812784f66bcca9aa8e989f2bc",
    "1864e6ba3e32878610546539734fb5eeae2529991f130c575c73a7e25a2a7c56",
    "12842d1202b1dc6828a17ab253c02e7ce9409b5192430feba44189f39cc02d66",
    "29af64b16fa3053c13d02ac63aa75b23aa468506e44c3a2315edc85d2dc22b11",
    "b527b99934a0bd9edd154e449b0502e2c499bba783f3bc3dfe23364b6b532009",
    "4584db8ae8e351ace08e01f306378a92bfd43611714814f3d834a2842d69faa8",
    "86a9a41573b0d6e4292f01e93243d6cc65b30f06606fc6fa57390e7e90ed580f",
    "a88b98fbe84d4c6aae8db9d1605dfac059d9f03fe0fcb0d5dff1295dacba09e6",
    "06326dc617a6d1f7021dc536026dbfd5fffc6f7c5531d48ef6ccd1ed1569f2a1",
    "f41fe8fdc3a2e4e8345e30216e7ebecffee26ff266eeced208a6c2a3cf08f960",
    "40cf5bde8abb76983f3e98ba97aa36240402975674e120f234b3448911090f8d",
    "b3222dc8658538079883d980d7fdc2bef9285344ea34338968f736b04aeb387a",
]
CT_AUDIT_LEAF = "7a395c866d5ecdb0cccb623e011dbc392cd348d1d1d72776174e127a24b09c78"
CT_AUDIT_ROOT = "78316a05c9bcf14a3a4548f5b854a9adfcd46a4c034401b3ce7eb7ac2f1d0ecb"


def hashes(entries: list[bytes]) -> list[bytes]:
    return [merkle.leaf_hash(e) for e in entries]


def hexes(values: list[bytes]) -> list[str]:
    return [v.hex() for v in values]


def test_tree_heads_match_the_ct_vectors_and_the_reference() -> None:
    for n, expected in enumerate(CT_ROOTS):
        assert merkle.root(hashes(CT_LEAVES[:n])).hex() == expected, n
        assert mth(CT_LEAVES[:n]).hex() == expected, n


def test_ct_inclusion_paths_in_the_eight_leaf_tree() -> None:
    leaves = hashes(CT_LEAVES)
    assert hexes(merkle.inclusion_proof(leaves, 0)) == CT_CONSISTENCY[0][2]  # PATH(0) = PROOF(1)
    assert hexes(merkle.inclusion_proof(leaves, 5)) == [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        CT_ROOTS[4],  # MTH(D[0:4])
    ]


@pytest.mark.parametrize(("first", "second", "proof"), CT_CONSISTENCY)
def test_ct_consistency_vectors(first: int, second: int, proof: list[str]) -> None:
    leaves = hashes(CT_LEAVES[:second])
    assert hexes(merkle.consistency_proof(leaves, first)) == proof
    old, new = bytes.fromhex(CT_ROOTS[first]), bytes.fromhex(CT_ROOTS[second])
    nodes = [bytes.fromhex(p) for p in proof]
    assert merkle.verify_consistency(first, second, old, new, nodes)
    assert not merkle.verify_consistency(first, second, old, new, nodes[:-1])
    flipped = bytes([new[0] ^ 1]) + new[1:]
    assert not merkle.verify_consistency(first, second, old, flipped, nodes)


def test_a_production_log_audit_path_verifies() -> None:
    leaf, root = bytes.fromhex(CT_AUDIT_LEAF), bytes.fromhex(CT_AUDIT_ROOT)
    proof = [bytes.fromhex(p) for p in CT_AUDIT_PATH]
    assert merkle.verify_inclusion(leaf, 848049, 3630887, proof, root)
    assert not merkle.verify_inclusion(leaf, 848048, 3630887, proof, root)
    assert not merkle.verify_inclusion(leaf, 848049, 2 * 3630887, proof, root)  # a longer path


def test_every_proof_up_to_33_leaves_matches_the_reference_and_verifies() -> None:
    entries = [f"entry-{i}".encode() for i in range(33)]
    for n in range(1, 34):
        d, leaves = entries[:n], hashes(entries[:n])
        root = merkle.root(leaves)
        assert root == mth(d)
        for m in range(n):
            proof = merkle.inclusion_proof(leaves, m)
            assert proof == path(m, d)
            assert merkle.verify_inclusion(leaves[m], m, n, proof, root)
            assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), m, n, proof, root)
            if n > 1:
                assert not merkle.verify_inclusion(leaves[m], (m + 1) % n, n, proof, root)
        for first in range(1, n + 1):
            proof = merkle.consistency_proof(leaves, first)
            assert proof == subproof(first, d, True)
            old = merkle.root(leaves[:first])
            assert merkle.verify_consistency(first, n, old, root, proof)
            if first < n:
                assert not merkle.verify_consistency(first, n, mth(d[1 : first + 1]), root, proof)


def test_bad_arguments() -> None:
    leaves = hashes(CT_LEAVES)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(leaves, 8)
    with pytest.raises(ValueError):
        merkle.consistency_proof(leaves, 0)
    assert not merkle.verify_inclusion(leaves[0], 0, 0, [], merkle.root([]))
    assert not merkle.verify_consistency(5, 2, b"", b"", [])
