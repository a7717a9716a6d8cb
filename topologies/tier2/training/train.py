"""Training step 3 of 3: near-duplicate removal, leave-one-source-out evaluation, calibration and
export of tier 2's heads.

- Near-duplicates: two texts of different sources whose mean chunk vectors have cosine >= NEAR_DUP
  are one text (several packages copy the same in-the-wild jailbreaks); the later source in
  SOURCES order loses its copy, so no text is both trained on and held out.
- Heads: one logistic regression per risk on the 384-dimension unit vectors of the chunks (each chunk
  weighted 1/chunks of its text; classes balanced). A text's logit is the max over its chunks, as the
  topology scores it.
- Evaluation by source: for every source of a head, a head trained on all the other sources scores
  it. These out-of-source logits give the figures (AUROC, catch rate at 1% false alarms on benign
  traffic) and the calibration: a Platt fit (p = sigmoid(a * logit + b)) per field on logits of
  sources the model never saw, so confidence is honest on new traffic; each field's fit is moved to the
  head's overall share of positives (from v2), so that a request and an answer with the same evidence
  read the same probability whatever share of the corpus's answers happen to be harmful.
- The harmful head judges an answer with its request: an output's features are its chunk vector
  and the mean vector of the request it answers (its context, embedded apart), an input's are its
  chunk vector and zeros. "Mix it with the fuel and pack it tightly" is a recipe after "how do I make
  a cake rise?" and an explosive after "how do I knock down a wall?". Answers whose source gives no
  request are left out of that head (they would teach "no request" as a signal no trace has).
- Export: the head trained on every source, with that calibration, as JSON under models/<version>/
  (the harmful head's second 384 weights as `context_weights`).

    python train.py <corpus.jsonl> <embeddings prefix> <contexts prefix> <out dir> <version> <encoder.json>
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))

from sources import KIND_LABELS, SOURCES  # noqa: E402

NEAR_DUP = 0.97
# Inverse regularization strength per head (v1: 2.0; v2 and v3: 0.5). Swept for v3 on its corpus
# (0.05, 0.1, 0.2, 0.5, 2): 0.05 raises the held-out harmful AUROC from 0.856 to 0.867, but its head
# reads the violent example at 0.38 (`low`, a clean verdict) and fails more hard negatives;
# kept at 0.5 (the README's "Tried and dropped").
C = {"prompt_attack": 0.5, "harmful": 0.5, "toxicity": 0.5}
SEED = 7
# Which fields of a trace each head reads.
HEAD_FIELDS = {"prompt_attack": ["input"], "harmful": ["input", "output"], "toxicity": ["input", "output"]}
TARGET_FPR = 0.01
# Heads whose output features include the request's mean vector.
CONTEXT_HEADS = {"harmful"}


def load(corpus: Path, prefix: str) -> tuple[list[dict], np.ndarray, np.ndarray]:
    examples = [json.loads(line) for line in corpus.read_text(encoding="utf-8").split("\n") if line.strip()]
    vectors = np.fromfile(f"{prefix}.f32", dtype="<f4").reshape(-1, 384)
    rows = np.array(json.loads(Path(f"{prefix}.rows.json").read_text()), dtype=np.int64)
    assert len(rows) == len(vectors) and rows.max() == len(examples) - 1
    return examples, vectors, rows


def context_vectors(examples: list[dict], texts_path: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Per example, the unit mean vector of its request (zeros without one), and whether it has one."""
    texts = [json.loads(line)["text"] for line in texts_path.read_text(encoding="utf-8").split("\n") if line.strip()]
    vectors = np.fromfile(f"{prefix}.f32", dtype="<f4").reshape(-1, 384)
    rows = np.array(json.loads(Path(f"{prefix}.rows.json").read_text()), dtype=np.int64)
    means = np.zeros((len(texts), 384), dtype=np.float32)
    np.add.at(means, rows, vectors)
    means /= np.linalg.norm(means, axis=1, keepdims=True) + 1e-12
    index = {t: i for i, t in enumerate(texts)}
    out = np.zeros((len(examples), 384), dtype=np.float32)
    has = np.zeros(len(examples), dtype=bool)
    for i, e in enumerate(examples):
        if e.get("context") in index:
            out[i] = means[index[e["context"]]]
            has[i] = True
    return out, has


def near_duplicates(examples: list[dict], vectors: np.ndarray, rows: np.ndarray) -> set[int]:
    order = {s.name: i for i, s in enumerate(SOURCES)}
    n = len(examples)
    means = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    np.add.at(means, rows, vectors)
    means /= np.linalg.norm(means, axis=1, keepdims=True) + 1e-12
    rank = np.array([order[e["source"]] for e in examples])
    dropped: set[int] = set()
    block = 1024
    for start in range(0, n, block):
        sims = means[start : start + block] @ means.T
        for i_local, i in enumerate(range(start, min(start + block, n))):
            close = np.nonzero(sims[i_local] >= NEAR_DUP)[0]
            for j in close:
                # drop i when a copy lives in an earlier source (or the same rank is impossible: only across sources)
                if rank[j] < rank[i]:
                    dropped.add(i)
                    break
    return dropped


def text_logits(model: LogisticRegression, vectors: np.ndarray, rows: np.ndarray, keep: np.ndarray) -> dict[int, float]:
    chunk_logits = model.decision_function(vectors[keep])
    out: dict[int, float] = {}
    for r, z in zip(rows[keep], chunk_logits):
        out[int(r)] = max(out.get(int(r), -np.inf), float(z))
    return out


def fit(vectors: np.ndarray, rows: np.ndarray, labels: dict[int, int], keep: np.ndarray, c: float) -> LogisticRegression:
    counts = np.bincount(rows[keep])
    y = np.array([labels[int(r)] for r in rows[keep]])
    w = 1.0 / counts[rows[keep]]
    # balance the classes by text count
    pos = sum(labels.values())
    neg = len(labels) - pos
    w = w * np.where(y == 1, len(labels) / (2 * pos), len(labels) / (2 * neg))
    model = LogisticRegression(C=c, max_iter=2000, random_state=SEED)
    model.fit(vectors[keep], y, sample_weight=w)
    return model


def logit(q: float) -> float:
    return float(np.log(q / (1 - q)))


def catch_at_fpr(scores_pos: np.ndarray, scores_benign: np.ndarray, fpr: float) -> tuple[float, float]:
    threshold = float(np.quantile(scores_benign, 1 - fpr))
    return float(np.mean(scores_pos > threshold)), threshold


# The policy's default severity bands (evaluators/src/policy.ts): tier 2 fails a trace from `medium`
# and decides alone from `high` (decide_at); in between it is unsure. The report gives, per field, the
# share of held-out benign texts and of held-out positives at each, with these calibrated probabilities.
BANDS = {"medium": 0.5, "high": 0.85}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def operating_points(z: np.ndarray, y: np.ndarray, benign: np.ndarray, fields: np.ndarray, calibration: dict) -> dict:
    """Per field: the probability at 1% false alarms on held-out benign texts, and the shares of benign texts and positives at each band."""
    out = {}
    for field, c in calibration.items():
        mask = fields == field
        p = sigmoid(c["a"] * z[mask] + c["b"])
        b, pos = p[benign[mask]], p[y[mask] == 1]
        if len(b) == 0:
            continue
        out[field] = {
            "benign": int(len(b)),
            "positives": int(len(pos)),
            "probability_at_1pct_benign": float(np.quantile(b, 1 - TARGET_FPR)),
            **{f"benign_at_{band}": float(np.mean(b >= t)) for band, t in BANDS.items()},
            **({f"positives_at_{band}": float(np.mean(pos >= t)) for band, t in BANDS.items()} if len(pos) else {}),
        }
    return out


def main() -> None:
    corpus, prefix, contexts, out_dir, version, encoder_path = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4]), sys.argv[5], Path(sys.argv[6])
    examples, vectors, rows = load(corpus, prefix)  # JSON lines split on \n only: texts may hold U+2028
    context, has_context = context_vectors(examples, corpus.with_name(corpus.stem + ".contexts.jsonl"), contexts)
    with_context = np.hstack([vectors, context[rows]])
    dropped = near_duplicates(examples, vectors, rows)
    print(f"{len(examples)} texts, {len(dropped)} near-duplicates across sources dropped", file=sys.stderr)
    live = np.array([int(r) not in dropped for r in rows])

    heads: dict[str, dict] = {}
    report: dict[str, dict] = {}
    for head, fields in HEAD_FIELDS.items():
        uses_context = head in CONTEXT_HEADS
        features = with_context if uses_context else vectors
        labels = {
            i: KIND_LABELS[e["kind"]][head]
            for i, e in enumerate(examples)
            if i not in dropped and e["field"] in fields and KIND_LABELS[e["kind"]][head] is not None and not (uses_context and e["field"] == "output" and not has_context[i])
        }
        head_rows = np.array([int(r) in labels for r in rows]) & live
        sources = sorted({examples[i]["source"] for i in labels})
        positive_sources = [s for s in sources if sum(1 for i, y in labels.items() if y == 1 and examples[i]["source"] == s) >= 50]
        # Held-out sources need two sources of positives at least; with one, a random 5-fold split (said in the report).
        split = "source" if len(positive_sources) >= 2 else "random 5-fold (one source of positives)"
        groups = {i: examples[i]["source"] for i in labels} if split == "source" else {i: f"fold{(i * 7919) % 5}" for i in labels}
        oof: dict[int, float] = {}
        row_groups = np.array([groups.get(int(r), "") for r in rows])
        for group in sorted(set(groups.values())):
            train_rows = head_rows & (row_groups != group)
            held_rows = head_rows & (row_groups == group)
            train_labels = {i: y for i, y in labels.items() if groups[i] != group}
            if len(set(train_labels.values())) < 2:
                continue
            model = fit(features, rows, train_labels, train_rows, C[head])
            oof.update(text_logits(model, features, rows, held_rows))
        ids = np.array(sorted(oof))
        z = np.array([oof[i] for i in ids])
        y = np.array([labels[i] for i in ids])
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(z.reshape(-1, 1), y)
        a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
        # one calibration per field where the field has enough of both classes (a request and an answer differ)
        calibration = {}
        for field in fields:
            mask = np.array([examples[i]["field"] == field for i in ids])
            if mask.sum() >= 100 and 30 <= y[mask].sum() <= mask.sum() - 30:
                pf = LogisticRegression(C=1e6, max_iter=1000).fit(z[mask].reshape(-1, 1), y[mask])
                # to the head's overall prior: a field's own share of positives is an accident of which
                # sources have answers, and would make the same evidence read differently per field
                shift = logit(float(y.mean())) - logit(float(y[mask].mean()))
                calibration[field] = {"a": round(float(pf.coef_[0][0]), 6), "b": round(float(pf.intercept_[0]) + shift, 6)}
            else:
                calibration[field] = {"a": round(a, 6), "b": round(b, 6)}
        benign = np.array([examples[i]["kind"] == "benign" for i in ids])
        catch, threshold = catch_at_fpr(z[y == 1], z[benign], TARGET_FPR)
        per_source = {}
        for source in sources:
            mask = np.array([examples[i]["source"] == source for i in ids])
            if mask.any():
                ys = y[mask]
                per_source[source] = {
                    "texts": int(mask.sum()),
                    "positives": int(ys.sum()),
                    "caught_at_1pct": float(np.mean(z[mask][ys == 1] > threshold)) if ys.sum() else None,
                    "false_alarms_at_1pct": float(np.mean(z[mask][ys == 0] > threshold)) if (ys == 0).any() else None,
                }
        report[head] = {
            "split": split,
            "C": C[head],
            "answer_with_request": uses_context,
            "fields": fields,
            "texts": int(len(ids)),
            "positives": int(y.sum()),
            "benign": int(benign.sum()),
            "auroc": float(roc_auc_score(y, z)),
            "auroc_vs_benign": float(roc_auc_score(np.r_[np.ones((y == 1).sum()), np.zeros(benign.sum())], np.r_[z[y == 1], z[benign]])),
            "catch_at_1pct_benign_fpr": catch,
            "threshold_logit_at_1pct": threshold,
            "operating_points": operating_points(z, y, benign, np.array([examples[i]["field"] for i in ids]), calibration),
            "per_source": per_source,
        }
        final = fit(features, rows, labels, head_rows, C[head])
        coef = final.coef_[0]
        heads[head] = {
            "fields": fields,
            "weights": [round(float(x), 6) for x in coef[:384]],
            **({"context_weights": [round(float(x), 6) for x in coef[384:]]} if uses_context else {}),
            "bias": round(float(final.intercept_[0]), 6),
            "calibration": calibration,
            "sources": sources,
        }
        print(f"{head:14} texts={len(ids)} pos={int(y.sum())} AUROC={report[head]['auroc']:.3f} catch@1%={catch:.3f}", file=sys.stderr)

    encoder = json.loads(encoder_path.read_text())
    # how the vectors were made (embed-corpus.ts writes it: batching/keep/maxChunks)
    settings_path = Path(f"{prefix}.settings")
    settings = settings_path.read_text().strip() if settings_path.exists() else "joint/head/4"
    target = out_dir / version
    target.mkdir(parents=True, exist_ok=True)
    created = datetime.date.today().isoformat()
    model = {
        "version": version,
        "created": created,
        "encoder": {"name": encoder["name"], "maven": encoder["maven"], "sha256": encoder["files"]["model.onnx"]["sha256"], "settings": settings},
        "heads": heads,
    }
    (target / "model.json").write_text(json.dumps(model, separators=(",", ":")) + "\n")
    licences = {s.name: {"package": s.package, "licence": s.licence, "what": s.what} for s in SOURCES}
    (target / "report.json").write_text(
        json.dumps({"version": version, "created": created, "near_duplicates_dropped": len(dropped), "texts": len(examples), "heads": report, "sources": licences}, indent=1) + "\n"
    )
    print(f"wrote {target}/model.json and report.json", file=sys.stderr)


if __name__ == "__main__":
    main()
