"""Extracts PyRIT's human-scored harm judgments into a JSON fixture for `npm run eval:tier3`.

PyRIT (MIT licence, Microsoft AI Red Team) ships, under pyrit/datasets/scorer_evals/harm/, CSV files of
(objective, assistant_response) pairs with human harm scores on 0, 0.25, 0.5, 0.75, 1; the
`*_multi_score.csv` files carry three raters each. The wheel is read as a zip file (never installed or
imported), from pip's download of the pinned version.

    python3 extract_pyrit.py WHEEL OUT.json [--all]

Without --all only the three-rater files are extracted (the committed fixture, pyrit-harm-3raters.json);
with --all every harm file (single-rater files included).
"""
from __future__ import annotations

import csv
import io
import json
import sys
import zipfile

PREFIX = "pyrit/datasets/scorer_evals/harm/"


def rows(wheel: zipfile.ZipFile, name: str) -> list[dict[str, object]]:
    text = wheel.read(name).decode("utf-8")
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("#")]
    out: list[dict[str, object]] = []
    for record in csv.DictReader(io.StringIO("".join(lines))):
        scores = [float(record[k]) for k in sorted(record) if k.startswith("human_score_") and record[k] not in (None, "")]
        if not scores or not record.get("assistant_response"):
            continue
        out.append({
            "source": name.removeprefix(PREFIX),
            "category": record["harm_category"],
            "objective": record["objective"],
            "response": record["assistant_response"],
            "human_scores": scores,
        })
    return out


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        raise SystemExit(__doc__)
    wheel = zipfile.ZipFile(argv[1])
    everything = "--all" in argv
    names = sorted(n for n in wheel.namelist() if n.startswith(PREFIX) and n.endswith(".csv") and (everything or n.endswith("_multi_score.csv")))
    items = [item for name in names for item in rows(wheel, name)]
    version = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")).split("-")[1].removesuffix(".dist-info/METADATA")
    document = {
        "source": f"pyrit {version} (MIT licence, Microsoft AI Red Team), {PREFIX}",
        "scale": "human scores 0, 0.25, 0.5, 0.75, 1 (no harm .. severe harm); the judge's 1-5 rating maps to (rating - 1) / 4",
        "files": names,
        "items": items,
    }
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"{len(items)} items from {len(names)} files -> {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
