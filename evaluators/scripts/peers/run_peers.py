"""Runs Presidio's pattern recognizers and detect-secrets over the texts of `npm run eval:peers`.

Reads a JSON array of {"id", "text"} from the file named by argv[1] and writes to argv[2] a JSON object:
{"presidio": {"predictions": {id: [{type, start, end}]}, "seconds": s, "version": ...},
 "detect_secrets": {...}}. Each tool first makes one untimed pass (imports, caches), then timed passes
until MIN_TIMED_SECONDS have passed; "seconds" is the mean time of one pass.

Presidio runs as a user without a model would run it: AnalyzerEngine with its default recognizer
registry on a blank English spaCy pipeline (saved to a temporary folder and loaded by path, so nothing
is downloaded); default score threshold (0), every entity it returns. detect-secrets runs its default
plugins and filters line by line over each text, the way `detect-secrets scan` reads a file; the
offsets of a finding are where its secret value first occurs in its line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from importlib.metadata import version
from typing import Any, Callable

MIN_TIMED_SECONDS = 2.0


def timed(run: Callable[[], dict[str, list[dict[str, Any]]]]) -> tuple[dict[str, list[dict[str, Any]]], float]:
    run()
    started = time.perf_counter()
    passes = 0
    while True:
        predictions = run()
        passes += 1
        if time.perf_counter() - started >= MIN_TIMED_SECONDS:
            return predictions, (time.perf_counter() - started) / passes


def presidio(texts: list[dict[str, str]]) -> dict[str, Any]:
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    with tempfile.TemporaryDirectory() as folder:
        spacy.blank("en").to_disk(folder)
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": folder}])
        engine.load()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])

    def run() -> dict[str, list[dict[str, Any]]]:
        return {
            t["id"]: [{"type": r.entity_type, "start": r.start, "end": r.end, "score": r.score} for r in analyzer.analyze(text=t["text"], language="en")]
            for t in texts
        }

    predictions, seconds = timed(run)
    return {"predictions": predictions, "seconds": seconds, "version": f"presidio-analyzer {version('presidio-analyzer')}, spaCy {version('spacy')} (blank en pipeline)"}


def detect_secrets(texts: list[dict[str, str]]) -> dict[str, Any]:
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.settings import default_settings

    def scan(text: str) -> list[dict[str, Any]]:
        lines = text.split("\n")
        offsets = [0]
        for line in lines[:-1]:
            offsets.append(offsets[-1] + len(line) + 1)
        found = []
        for secret in _process_line_based_plugins(lines=list(enumerate(lines, start=1)), filename="trace.txt"):
            line = lines[secret.line_number - 1]
            value = secret.secret_value or ""
            at = line.find(value) if value else -1
            start = offsets[secret.line_number - 1] + (at if at >= 0 else 0)
            end = start + (len(value) if at >= 0 else len(line))
            found.append({"type": secret.type, "start": start, "end": end})
        return found

    with default_settings():
        def run() -> dict[str, list[dict[str, Any]]]:
            return {t["id"]: scan(t["text"]) for t in texts}

        predictions, seconds = timed(run)
    return {"predictions": predictions, "seconds": seconds, "version": f"detect-secrets {version('detect-secrets')} (default plugins and filters)"}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        texts = json.load(f)
    result = {"presidio": presidio(texts), "detect_secrets": detect_secrets(texts)}
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
