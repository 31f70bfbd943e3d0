"""Trademark search through the real server: cross-script recall of word marks, latency per mode.

Marks: real words (the shared ``trademarks/words_en_20k.txt`` and ``words_ru_20k.txt``,
a seeded sample of each), the marks the number and brand pairs point at, and the 215
Tango icons as figurative marks. Queries: :func:`benchmarks.trademark_pairs.cross_script_pairs`
— real Russian words written in Latin by each transliteration scheme and at random, real
English words written in Cyrillic, number marks (``pro100`` → ``про сто``) and real brands;
the relevant mark is the one whose word is the pair's target. Each query runs in mode
``phonetic`` and ``all`` through ``POST …/search`` (k=10); recall@10 per kind. Then
latency p50/p95 of every mode (``spelling``, ``phonetic``, ``semantic``, ``all``,
``image``) over keep-alive HTTP, one request at a time.

    .venv/bin/python -m benchmarks.bench_trademark_words [--quick] [--words N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import base64
import csv
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import httpx

from ipsim.benchmarks import datasets
from ipsim.benchmarks.metrics import Latency
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.benchmarks.server import fresh_data_dir, running_server
from ipsim.benchmarks.trademark_pairs import KINDS, Pair, cross_script_pairs

K = 10
GOAL_RECALL = 0.95
COLLECTION = "marks"
SEED = 20261126


def _words(name: str, n: int, rng: random.Random) -> list[str]:
    words = (datasets.data_root() / "trademarks" / name).read_text(encoding="utf-8").split()
    return rng.sample(words, min(n, len(words)))


def _icons() -> list[tuple[str, str]]:
    root = datasets.data_root() / "trademarks"
    with (root / "icons_index.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["theme"] == "tango"]
    return [(r["name"], base64.b64encode((root / r["path"]).read_bytes()).decode()) for r in rows]


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    answer = client.post(path, json=body)
    if answer.status_code >= 400:
        raise RuntimeError(f"{path} -> {answer.status_code}: {answer.text[:300]}")
    return answer.json()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--words", type=int, help="real words per language (default 10,000)")
    parser.add_argument("--pairs", type=int, help="query pairs per kind (default 200)")
    parser.add_argument("--latency-queries", type=int, default=200, help="timed queries per mode")
    args = parser.parse_args(argv)
    per_language = args.words or (1000 if args.quick else 10_000)
    per_kind = args.pairs or (30 if args.quick else 200)
    rng = random.Random(SEED)
    ru, en = (
        _words("words_ru_20k.txt", per_language, rng),
        _words("words_en_20k.txt", per_language, rng),
    )
    pairs = cross_script_pairs(ru, en, n=per_kind, seed=SEED)
    pairs.append(Pair("PRO100", "про сто", "pro100"))
    words = list(dict.fromkeys([*ru, *en, *(p.target for p in pairs)]))
    icons = _icons()
    report = Report(
        f"bench_trademark_words: cross-script recall@{K} and latency on {len(words):,} word marks",
        {
            "marks": f"{per_language:,} real Russian + {per_language:,} real English words "
            f"(seeded sample), plus {len(words) - 2 * per_language} pair targets; "
            f"{len(icons)} Tango icons as figurative marks",
            "queries": f"up to {per_kind} pairs per kind (trademark_pairs.cross_script_pairs, "
            f"seed {SEED}); relevant = the mark whose word is the pair's target",
            "path": "ipsim serve over HTTP, POST /v1/collections/marks/search, k=10",
        },
    )
    report.configure(args)
    report.print_header()
    ids = {word: f"w{i}" for i, word in enumerate(words)}
    data = fresh_data_dir(datasets.cache_dir() / "trademark-words-data")
    with running_server(data) as server, httpx.Client(base_url=server.url, timeout=600) as client:
        _post(client, "/v1/collections", {"name": COLLECTION, "modality": "trademark"})
        started = time.perf_counter()
        docs = [{"id": ids[w], "content": {"word": w}} for w in words]
        docs += [{"id": f"i:{name}", "content": {"image_b64": b64}} for name, b64 in icons]
        for start in range(0, len(docs), 256):
            answer = client.put(
                f"/v1/collections/{COLLECTION}/documents",
                json={"documents": docs[start : start + 256]},
            )
            if answer.status_code >= 400:
                raise RuntimeError(answer.text[:300])
        report.setup["ingest"] = f"{len(docs):,} marks in {time.perf_counter() - started:.0f} s"
        recall = _recall(client, pairs, ids)
        fresh = cross_script_pairs(ru, en, n=per_kind, seed=SEED + 1)
        latency = _latency(client, fresh, icons, args.latency_queries)
    table = Table(
        f"recall@{K} by kind of pair", ["kind", "what", "pairs", "phonetic", "all (fused)"]
    )
    for kind, (n, phonetic, fused) in sorted(recall.items()):
        what = KINDS.get(kind, "PRO100 → про сто, rank of the target")
        table.add(kind, what, n, phonetic, fused)
    total = sum(n for n, _, _ in recall.values())
    overall = {
        m: sum(r[i] * r[0] for r in recall.values()) / total for m, i in (("p", 1), ("a", 2))
    }
    table.add("all kinds", "every pair", total, overall["p"], overall["a"])
    report.tables.append(table)
    lat = Table("latency per mode (one request at a time)", ["mode", "queries", "p50 ms", "p95 ms"])
    for mode, summary in latency.items():
        lat.add(mode, summary.count, summary.p50_ms, summary.p95_ms)
    report.tables.append(lat)
    best = max(overall.values())
    report.notes.append(
        f"cross-script recall@{K}: phonetic {overall['p']:.3f}, all {overall['a']:.3f} "
        f"(goal >= {GOAL_RECALL}: {'met' if best >= GOAL_RECALL else 'NOT met'})"
    )
    _, phonetic_first, fused_first = recall["pro100"]
    report.notes.append(
        "PRO100 finds 'про сто' at rank 1: "
        f"phonetic {_yes(phonetic_first == 1)}, all {_yes(fused_first == 1)}"
    )
    report.publish(args.markdown)
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _recall(
    client: httpx.Client, pairs: Sequence[Pair], ids: dict[str, str]
) -> dict[str, tuple[int, float, float]]:
    """Per kind: (pairs, recall@K phonetic, recall@K all); the pro100 row is recall@1."""
    found: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for pair in pairs:
        target = ids[pair.target]
        depth = 1 if pair.kind == "pro100" else K
        hits = []
        for mode in ("phonetic", "all"):
            body = {"query": {"word": pair.query}, "k": K + 1, "mode": mode}
            ranked = [
                h["id"] for h in _post(client, f"/v1/collections/{COLLECTION}/search", body)["hits"]
            ]
            same = ids.get(pair.query)
            ranked = [i for i in ranked if i != same][:depth]  # the query itself may be a mark
            hits.append(target in ranked)
        found[pair.kind].append((hits[0], hits[1]))
    return {
        kind: (len(v), sum(p for p, _ in v) / len(v), sum(a for _, a in v) / len(v))
        for kind, v in found.items()
    }


def _latency(
    client: httpx.Client, pairs: Sequence[Pair], icons: Sequence[tuple[str, str]], n: int
) -> dict[str, Latency]:
    # Fresh queries (another seed): the recall pass's answers sit in the server's page cache.
    words = [{"word": p.query} for p in pairs[:: max(1, len(pairs) // n)]][:n]
    images = [{"image_b64": b64} for _, b64 in icons[:n]]
    out = {}
    for mode in ("spelling", "phonetic", "semantic", "all", "image"):
        seconds = []
        for query in images if mode == "image" else words:
            started = time.perf_counter()
            _post(
                client,
                f"/v1/collections/{COLLECTION}/search",
                {"query": query, "k": K, "mode": mode},
            )
            seconds.append(time.perf_counter() - started)
        out[mode] = Latency.of(seconds)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
