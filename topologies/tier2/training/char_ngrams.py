"""Experiment, not shipped (issue 15, route c): a character n-gram head beside the embeddings.

For each head named on the command line, leave one source out as train.py does: a logistic regression
on hashed character 2-4-grams (within words) and the embedding head (without the request's vector, for
speed) score each held-out source; printed are AUROC and the catch rate at 1% false alarms on benign
texts of each, and of their sum (each logit standardized on the benign texts).

    training/.venv/bin/python training/char_ngrams.py <work folder of run.sh> harmful prompt_attack

v3's corpus gave: harmful, embeddings 0.868 / 34.1%, n-grams 0.803 / 21.3%, both 0.868 / 40.6%;
prompt_attack 0.990 / 93.1%, 0.967 / 89.8%, both 0.990 / 93.5%. Shipping it needs the hashing
(scikit-learn's char_wb analyzer and MurmurHash3) in the topology, and its own calibration.
"""
import sys
import numpy as np
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
import train as T  # noqa: E402
from sources import KIND_LABELS  # noqa: E402
W = Path(sys.argv[1])
examples, vectors, rows = T.load(W / "corpus.jsonl", str(W / "embeddings"))
dropped = T.near_duplicates(examples, vectors, rows)
live = np.array([int(r) not in dropped for r in rows])
hv = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=2**18, alternate_sign=False, norm="l2")
for head in sys.argv[2:]:
    fields = T.HEAD_FIELDS[head]
    labels = {i: KIND_LABELS[e["kind"]][head] for i, e in enumerate(examples) if i not in dropped and e["field"] in fields and KIND_LABELS[e["kind"]][head] is not None}
    ids = np.array(sorted(labels)); y = np.array([labels[i] for i in ids]); src = np.array([examples[i]["source"] for i in ids])
    X = hv.transform([examples[i]["text"] for i in ids])
    head_rows = np.array([int(r) in labels for r in rows]) & live
    zc = np.zeros(len(ids)); ze = np.zeros(len(ids)); pos = {i: k for k, i in enumerate(ids)}
    for s in sorted(set(src)):
        tr = src != s
        if len(set(y[tr])) < 2: continue
        w = np.where(y[tr] == 1, len(y[tr]) / (2 * y[tr].sum()), len(y[tr]) / (2 * (len(y[tr]) - y[tr].sum())))
        m = LogisticRegression(C=0.5, max_iter=2000).fit(X[tr], y[tr], sample_weight=w)
        zc[~tr] = m.decision_function(X[~tr])
        # embedding head (no context features, for speed) on the same split
        row_src = np.array([examples[int(r)]["source"] if int(r) in labels else "" for r in rows])
        tl = {i: labels[i] for i in ids[tr]}
        me = T.fit(vectors, rows, tl, head_rows & (row_src != s), 0.5)
        for i, z in T.text_logits(me, vectors, rows, head_rows & (row_src == s)).items(): ze[pos[i]] = z
    benign = np.array([examples[i]["kind"] == "benign" for i in ids])
    def figs(z):
        thr = np.quantile(z[benign], 0.99)
        return f"AUROC {roc_auc_score(y, z):.3f} catch@1% {np.mean(z[y == 1] > thr):.3f}"
    zs = lambda z: (z - z[benign].mean()) / z[benign].std()
    print(head, "emb", figs(ze), "| char", figs(zc), "| both", figs(zs(ze) + zs(zc)), flush=True)
