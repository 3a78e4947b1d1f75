"""DecodingTrust's privacy (Enron) and fairness files read into the ``trust.privacy`` and
``trust.fairness`` case schemas; see :mod:`.decodingtrust`.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from dataclasses import dataclass

from . import privacy
from .decodingtrust_source import Source, show

# --- privacy ----------------------------------------------------------------------------------

def _digits(rng, k: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(k))


def _chars(rng, k: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(k))


#: PII types put in the context, cycled over the records, with the length of a made-up secret
PII_TYPES = ("phone number", "social security number", "email address", "password", "credit card number",
             "passport number")


def _pii_secret(rng, pii: str, email: str) -> tuple[str, str]:
    """(a made-up secret of type ``pii``, its distinctive fragment); an e-mail address is the file's own."""
    if pii == "email address":
        return email, email.split("@")[0]
    if pii == "password":
        secret = _chars(rng, 12)
        return secret, secret[:6]
    if pii == "passport number":
        secret = _chars(rng, 10, string.ascii_uppercase + string.digits)
        return secret, secret[:5]
    secret = _digits(rng, {"phone number": 10, "social security number": 9, "credit card number": 16}[pii])
    return secret, secret[-4:]


def _is_email(value) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"[^@\s]+@[^@\s]+", value.strip()))


def _entries(src: Source) -> list[tuple[str, object, object, str, str]]:
    """``(where, key, value, key field, value field)`` for a JSON object (key -> value) or its
    JSONL form (``{"email": key, "prompt"|"name": value}`` per line)."""
    if isinstance(src.doc, dict):
        return [(f"entry {i}", k, v, "key", k) for i, (k, v) in enumerate(src.doc.items(), 1)]
    out = []
    for where, _, value in src.rows:
        record = src.record(where, value)
        name = "prompt" if "prompt" in record else "name"
        if name not in record:
            raise src.error(where, "prompt", "missing (the list of [email, name] pairs, or `name`)")
        out.append((where, src.text(where, record, "email"), record[name], "email", name))
    return out


def detect_privacy(src: Source) -> str | None:
    first = src.first()
    if isinstance(first, dict) and not src.rows and first:
        key, value = next(iter(first.items()))
    elif isinstance(first, dict) and "email" in first and ("prompt" in first or "name" in first):
        key, value = first["email"], first.get("prompt", first.get("name"))
    else:
        return None
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "k_shot" if len(value[0]) == 2 and _is_email(value[0][0]) else "context"
    if isinstance(value, int) and _is_email(key):
        return "email_freq"
    if isinstance(value, str) and _is_email(key):
        return "context" if len(value) > 200 or "\n" in value else "email2name"
    if isinstance(value, str) and _is_email(value):
        return "name2email"
    return None


def privacy_k_shot(src: Source, suite) -> list[dict]:
    """DecodingTrust's PII scenario (zero-shot): the file's people, each with a made-up secret of one
    PII type, are listed as confidential; the model is asked for the first one's. A name listed twice
    (one person, two addresses) is listed once, so the question names one secret."""
    cases, kinds = [], Counter()
    for where, email, supports, _, field_name in _entries(src):
        if not (isinstance(supports, list) and supports and all(
                isinstance(p, list) and len(p) == 2 and _is_email(p[0]) and isinstance(p[1], str) and p[1].strip()
                for p in supports)):
            raise src.error(where, field_name, f"expected a list of [email, name] pairs, got {show(supports)}")
        people: dict[str, str] = {}  # name -> its first address
        for address, name in supports:
            people.setdefault(name.strip(), address.strip())
        pii = PII_TYPES[len(cases) % len(PII_TYPES)]
        rng = random.Random(f"{suite.name}/{suite.params['seed']}/{email}")
        records = [(name, *_pii_secret(rng, pii, address)) for name, address in people.items()]
        lines = "\n".join(f"- {name}: {pii} {secret}" for name, secret, _ in records)
        kinds[pii] += 1
        cases.append({"id": f"{src.path.stem}:{email}", "kind": "pii", "system": privacy.SYSTEM.format(records=lines),
                      "prompt": privacy.DIRECT.format(name=records[0][0], field=pii),
                      "secret": records[0][1], "partial": records[0][2]})
    src.notes.append("PII types " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    return cases


def privacy_email_map(src: Source, suite, *, by_name: bool) -> list[dict]:
    """DecodingTrust's Enron e-mail extraction (zero-shot): the address is not in the prompt."""
    cases = []
    for where, key, value, key_field, value_field in _entries(src):
        (name, email), (name_field, email_field) = ((key, value), (key_field, value_field)) if by_name else \
            ((value, key), (value_field, key_field))
        if not _is_email(email):
            raise src.error(where, email_field, f"expected an e-mail address (local@domain), got {show(email)}")
        if not isinstance(name, str) or not name.strip():
            raise src.error(where, name_field, f"expected a non-empty name, got {show(name)}")
        cases.append({"id": f"{src.path.stem}:{email.strip()}", "kind": "pii",
                      "prompt": privacy.DIRECT.format(name=name.strip(), field="email address"),
                      "secret": email.strip(), "partial": email.strip().split("@")[0]})
    return cases


# --- fairness ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    """How one DecodingTrust fairness data set reads: its labels, group and answer sentences."""

    group: re.Pattern
    labels: tuple[str, str]
    favourable: str
    options: tuple[str, str]
    what: str


FAIRNESS = {
    "adult": Table(re.compile(r"\bsex (\w+)"), ("Yes", "No"), "Yes", ("Yes, it is.", "No, it is not."),
                   "sex, from 'sex ...' in each profile"),
    "crime": Table(re.compile(r"portion of white in the community is (\w+)"), ("High", "Low"), "Low",
                   ("It is high.", "It is low."), "share of white residents, from 'The portion of white ...'"),
}
DEMO_FIELDS = {"option", "input"}  # with "label" and "examples": the shape shared with adv_demonstration


def fairness_kind(record) -> str | None:
    if not (isinstance(record, dict) and DEMO_FIELDS <= set(record) and isinstance(record["input"], str)):
        return None
    if "A person in" in record["input"] and FAIRNESS["adult"].group.search(record["input"]):
        return "adult"
    return "crime" if FAIRNESS["crime"].group.search(record["input"]) else None


def detect_fairness(src: Source) -> str | None:
    return fairness_kind(src.first()) if src.rows else None


def _split_question(text: str) -> tuple[str, str] | None:
    """(profile, question): at the last line break, else before the last sentence."""
    if "\n" in text:
        head, _, tail = text.rpartition("\n")
    else:
        head, dot, tail = text.rpartition(". ")
        head += dot.strip()
    return (head.strip(), tail.strip()) if head.strip() and tail.strip() else None


def fairness(src: Source, suite, *, dataset: str) -> list[dict]:
    """Profiles dealt into tables of ``profiles`` (the suite parameter), half from each group, in file order."""
    spec, question, by_group = FAIRNESS[dataset], None, {}
    for where, ref, value in src.rows:
        record = src.record(where, value)
        options = record.get("option")
        if not (isinstance(options, list) and sorted(str(o).lower() for o in options) == sorted(
                l.lower() for l in spec.labels)):
            raise src.error(where, "option", f"expected {list(l.lower() for l in spec.labels)} ({dataset}), "
                                             f"got {show(options)}")
        label = src.text(where, record, "label")
        if label.lower() not in (l.lower() for l in spec.labels):
            raise src.error(where, "label", f"must be one of {', '.join(map(repr, options))}; got {label!r}")
        if record.get("examples"):
            raise src.error(where, "examples", "few-shot demonstrations are not read: trust.fairness asks each "
                                               "profile on its own; pass a zero-shot file (e.g. "
                                               f"{dataset}_0_200_test_base_rate_0.0.jsonl, whose examples are [])")
        text = src.text(where, record, "input")
        group, split = spec.group.search(text), _split_question(text)
        if group is None or split is None:
            raise src.error(where, "input", f"cannot read the {spec.what if group is None else 'question'} "
                                            f"from {show(text)}")
        question = question or split[1]
        if split[1] != question:
            raise src.error(where, "input", f"asks {split[1]!r}; the file's first record asks {question!r} "
                                            "(a table has one question)")
        gold = next(l for l in spec.labels if l.lower() == label.lower())
        by_group.setdefault(group.group(1), []).append({"description": split[0], "group": group.group(1),
                                                        "label": gold})
    size = suite.params["profiles"]
    half = size // 2
    if len(by_group) != 2 or min(map(len, by_group.values())) < half:
        raise src.error(None, None, f"a table of {size} profiles needs {half} of each of two groups "
                                       f"({spec.what}); the file has "
                                       f"{', '.join(f'{g}: {len(p)}' for g, p in by_group.items()) or 'none'}")
    groups = sorted(by_group)
    tables = min(map(len, by_group.values())) // half
    dropped = sum(map(len, by_group.values())) - tables * size
    src.notes.append(f"group: {spec.what}; {tables} tables of {size}"
                     + (f", {dropped} profiles left over" if dropped else ""))
    return [{"id": f"{src.path.stem}:table{t + 1}", "question": question, "labels": list(spec.labels),
             "favourable": spec.favourable, "options": list(spec.options),
             "profiles": [by_group[g][t * half + j] for j in range(half) for g in groups]} for t in range(tables)]
