"""DecodingTrust's published data files, read into the trust suites' own case schemas.

``dataset="decodingtrust:PATH"`` on a trust suite reads one file as DecodingTrust
(repository AI-secure/DecodingTrust, folder ``data/``) publishes it. The file's
shape tells the sub-task (adv_demonstration files share one record shape, so there
the folder DecodingTrust keeps them in tells it):

* ``trust.stereotype``: ``stereotype/dataset/stereotype_bias_data.jsonl`` (setting from its tag) and
  ``user_prompts.csv`` (each row under the three settings);
* ``trust.ethics``: ETHICS commonsense, ``machine_ethics/ethics/commonsense/cm_*.csv`` (each row plain;
  each wrong one also under a jailbreak system prompt and with an excuse: the ``attack`` kind);
* ``trust.privacy``: ``privacy/enron_data/{one,two,five}_shot[_non_domain].json[l]`` (the PII scenario:
  made-up secrets of the file's people in the context) and ``email2name.json[l]`` / ``name2email.json``
  (zero-shot e-mail extraction: a leak is memorisation);
* ``trust.fairness``: zero-shot ``fairness/fairness_data/{adult,crime}_0_*.jsonl``, dealt into tables;
* ``trust.adv_demo``: ``adv_demonstration/counterfactual/*/``, ``spurious/*/*/`` and ``backdoor/*/*_asr/``
  files (the ``kind`` of the same name);
* ``trust.ood``: ``ood/style.json`` (every style but ``base``) and ``ood/knowledge.json`` (qa_2020:
  the fact is right; qa_2023, after the cut-off the model is told: "I don't know").

Other DecodingTrust files are refused with a :class:`DatasetError` that names the
sub-task and what is read instead; a file of another dimension names the suite that
reads it. Every problem names the file, the line or record, and the field.
:func:`describe` says in one line what a file was read as. The readers live in
:mod:`.decodingtrust_questions` (labelled questions) and :mod:`.decodingtrust_records`
(privacy, fairness); the file itself is read by :class:`.decodingtrust_source.Source`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from .decodingtrust_questions import (adv_demo, detect_adv_demo, detect_ethics, detect_ood, detect_stereotype,
                                      ethics_commonsense, ood_knowledge, ood_style, stereotype_bias_data,
                                      stereotype_user_prompts)
from .decodingtrust_records import detect_fairness, detect_privacy, fairness, privacy_email_map, privacy_k_shot
from .decodingtrust_source import Source

FORMAT = "decodingtrust"


@dataclass(frozen=True)
class Dimension:
    """One DecodingTrust dimension: how its files are told apart, read or refused."""

    suite: str
    folder: str  # DecodingTrust's data folder
    detect: Callable[[Source], str | None]
    build: dict[str, Callable[[Source, object], list[dict]]]
    titles: dict[str, str]
    refused: dict[str, str] = field(default_factory=dict)
    expected: str = ""
    count: str | None = None  # case field counted in describe()


DIMENSIONS = (
    Dimension(
        "trust.stereotype", "stereotype", detect_stereotype,
        {"bias_data": stereotype_bias_data, "user_prompts": stereotype_user_prompts},
        {"bias_data": "stereotype_bias_data.jsonl", "user_prompts": "user_prompts.csv"},
        {"system_prompts": "system_prompts.csv holds the three system prompts, not statements",
         "generations": "a generations file holds model outputs, not a data set"},
        "stereotype_bias_data.jsonl ({prompt: {text, stereotype_topic_tag, demographic_group_tag, "
        "sys_prompt_type_tag}} per line) or user_prompts.csv (stereotype_topic,target_group,"
        "stereotype_template,user_prompt)", "setting"),
    Dimension(
        "trust.ethics", "machine_ethics", detect_ethics, {"commonsense": ethics_commonsense},
        {"commonsense": "ETHICS commonsense"},
        {k: "trust.ethics asks whether a first-person action was wrong; this sub-task asks something else"
         for k in ("deontology", "justice", "virtue", "utilitarianism", "jiminy", "jiminy_conditional")},
        "ETHICS commonsense CSV (cm_test.csv, cm_test_hard.csv, cm_train.csv: label,input,is_short,edited)",
        "kind"),
    Dimension(
        "trust.privacy", "privacy", detect_privacy,
        {"k_shot": privacy_k_shot, "email2name": partial(privacy_email_map, by_name=False),
         "name2email": partial(privacy_email_map, by_name=True)},
        {"k_shot": "PII in the context (k-shot Enron file)", "email2name": "Enron e-mail extraction, zero-shot",
         "name2email": "Enron e-mail extraction, zero-shot"},
        {"context": "context prompting needs DecodingTrust's GPT-2 token window of each e-mail; not read",
         "email_freq": "email_freq.json holds counts, not prompts"},
        "an Enron file from privacy/enron_data: {one,two,five}_shot[_non_domain].json[l] ({email: [[email, name], "
        "...]}) or email2name.json[l] / name2email.json", "kind"),
    Dimension(
        "trust.fairness", "fairness", detect_fairness,
        {"adult": partial(fairness, dataset="adult"), "crime": partial(fairness, dataset="crime")},
        {"adult": "Adult income (zero-shot)", "crime": "Communities and crime (zero-shot)"},
        {}, "a fairness_data file (adult_0_*.jsonl or crime_0_*.jsonl: {option, input, label, examples} per line)"),
    Dimension(
        "trust.adv_demo", "adv_demonstration", detect_adv_demo,
        {k: partial(adv_demo, kind=k) for k in ("counterfactual", "spurious")}
        | {"backdoor_asr": partial(adv_demo, kind="backdoor")},
        {"counterfactual": "counterfactual demonstrations", "spurious": "spurious correlations",
         "backdoor_asr": "backdoor, attack success"},
        {"backdoor_cacc": "a clean-accuracy file (…_cacc) has no trigger in the question; trust.adv_demo scores "
                          "backdoors by attack success: pass the matching …_asr file",
         "backdoor_unknown": "a backdoor file is read from a folder ending in _asr (attack success)",
         "demo_unknown": "the sub-task is told by DecodingTrust's folders: keep the file under counterfactual/, "
                         "spurious/ or backdoor/…_asr/"},
        "an adv_demonstration file ({option, input, label, examples} per line) under counterfactual/, spurious/ "
        "or backdoor/…_asr/", "kind"),
    Dimension(
        "trust.ood", "ood", detect_ood, {"style": ood_style, "knowledge": ood_knowledge},
        {"style": "style shifts (style.json)", "knowledge": "RealtimeQA knowledge (knowledge.json)"},
        {}, "style.json ({train_demo, dev: {style: [{sentence, label}]}}) or knowledge.json "
            "({demo, test: {qa_2020, qa_2023}})", "style"),
)
_BY_SUITE = {d.suite: d for d in DIMENSIONS}


def _subtask(dim: Dimension, src: Source) -> str:
    if not src.rows and not src.header and src.doc is None:
        raise src.error(None, None, "the file holds no records")
    sub = dim.detect(src)
    if sub is None:
        for other in DIMENSIONS:
            if other is not dim and (found := other.detect(src)) is not None:
                raise src.error(None, None, f"this is a DecodingTrust {other.folder} file "
                                            f"({other.titles.get(found, found)}), not {dim.folder}: read it with "
                                            f"{other.suite}, e.g. @trust_task({other.suite!r}, "
                                            f"dataset='{FORMAT}:{src.path}')")
        raise src.error(None, None, f"not a DecodingTrust {dim.folder} file this reader knows; expected {dim.expected}")
    if sub in dim.refused:
        raise src.error(None, None, f"DecodingTrust {dim.folder} sub-task {sub!r} is not read: {dim.refused[sub]}. "
                                    f"{dim.suite} reads {', '.join(dict.fromkeys(dim.titles.values()))}")
    return sub


def _read(dim: Dimension, path: Path, suite, src: Source | None = None) -> list[dict]:
    src = src or Source(Path(path), dim.suite)
    cases = dim.build[_subtask(dim, src)](src, suite)
    if not cases:
        raise src.error(None, None, "the file holds no cases")
    seen = set()
    for case in cases:
        if case["id"] in seen:
            raise src.error(None, None, f"two records give the case id {case['id']!r}")
        seen.add(case["id"])
    return cases


READERS = {d.suite: partial(_read, d) for d in DIMENSIONS}


def describe(path, suite_name: str) -> str:
    """One line: what ``path`` was read as for ``suite_name`` (sub-task, cases, notes)."""
    from ..registry import get_suite

    dim = _BY_SUITE[suite_name]
    suite = get_suite(suite_name)(dataset=f"{FORMAT}:{path}")
    src = Source(Path(path), suite_name)
    sub = _subtask(dim, src)
    cases = _read(dim, path, suite, src)
    counts = Counter(c.get(dim.count) for c in cases) if dim.count else {}
    parts = f" ({', '.join(f'{k} {v}' for k, v in counts.items())})" if counts else ""
    notes = "".join(f"; {n}" for n in dict.fromkeys(src.notes))
    return f"{path}: DecodingTrust {dim.folder}, {dim.titles[sub]}: {len(cases)} cases{parts}{notes}"
