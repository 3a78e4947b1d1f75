"""``bfcl``: function calling scored as the Berkeley Function Calling Leaderboard scores it.

Cases come from BFCL files (``dataset="bfcl:path/BFCL_v4_simple_python.json"``, or the bare
path; a directory reads every ``*.json`` file in it, cases taken from each file in turn). A
question file holds one JSON object per line, ``{"id", "question": [[{"role", "content"}, ...]],
"function": [{"name", "description", "parameters": {"type": "dict", "properties": {...},
"required": [...]}}]}``; its answers live in ``possible_answer/<same file name>`` beside it, one
``{"id", "ground_truth": [{"func_name": {"param": [acceptable values]}}]}`` per line, where an
empty string among the values marks the parameter optional. Without a dataset the suite runs the
project's own sample in that format (:data:`SAMPLE_DIR`, written for this project, not BFCL's data).

The model sees the functions as JSON in a system prelude, then the question's turns, and answers
greedily; the reply is read with :mod:`.calls` in Python-call or JSON syntax (``syntax`` sets which
one the prompt asks for). :func:`check_calls` follows the rules of BFCL's AST checker: the same
number of calls as expected, each matched to an expected call order-free, with the function's exact
name (dotted names whole), every required parameter given, none it does not know, every value among
the acceptable ones (ints stand for floats; strings compared without case, spaces and ``,./-_*^``;
lists element-wise; dicts key by key), and optional parameters free to be left out.

Metrics: ``accuracy`` (every expected call matched; gated, max_drop 0.10), ``parsed`` (a call could
be read) and the accuracy of each category, NaN on the cases of other categories: ``simple`` (one
function, one call), ``multiple`` (several offered, one call), ``parallel`` (several calls of one
function) and ``parallel_multiple``. Categories come from the BFCL id (``simple_python_3``,
``live_multiple_12-4-0``) or, for other ids, from the number of functions and expected calls.

Where this differs from BFCL: names are compared as written (BFCL turns dots into underscores for
some API models); ints count in float arrays as well as for float parameters; the order-free
matching finds a one-to-one matching whenever there is one (BFCL's greedy pass can miss one); a
non-literal Python value (``x=3*2``) is its source text, never evaluated. Files BFCL scores another
way (Java, JavaScript, irrelevance, multi-turn) are refused with a DatasetError. Cases that BFCL's
checker can never pass (a few in BFCL's own live files: a required parameter with no acceptable
value) are kept, and count as wrong for both models, as in BFCL.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ..engine.requests import GenerationRequest
from ..errors import DatasetError
from .base import Metric, Suite
from .calls import SYNTAXES, Call, parse_calls, render_json, render_python
from .formats import split_format
from .registry import register_suite
from .params import OneOf

#: the project's sample of BFCL-format cases, run when no dataset is given
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "bfcl"
ANSWER_DIR = "possible_answer"
CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple")
#: BFCL's Python types of a schema's ``type`` (plus the JSON-Schema names ``number`` and ``object``)
PY_TYPES = {"string": str, "integer": int, "float": float, "number": float, "boolean": bool,
            "array": list, "tuple": list, "dict": dict, "object": dict, "any": str}
MAX_CALL_TOKENS = 512
ROLES = ("system", "user", "assistant")

_ID_CATEGORY = re.compile(r"(?:live_)?(parallel_multiple|parallel|multiple|simple)(?:_python)?_[\d-]+")
_UNSUPPORTED = (
    (re.compile(r"(?:live_)?(?:simple_)?(?:java|javascript)_"), "Java and JavaScript categories are not read "
                                                                 "(only Python-syntax calls are scored)"),
    (re.compile(r"(?:live_)?(?:ir)?relevance_"), "relevance and irrelevance categories are not read "
                                                 "(they expect no call, or any call)"),
    (re.compile(r"(?:multi_turn|memory|web_search|format_sensitivity)"), "multi-turn and agentic categories "
                                                                          "are not read (one turn only)"),
)
# characters BFCL's string comparison ignores (with case)
_IGNORED = re.compile(r"[ ,./\-_*^]")


# --- the checker ---------------------------------------------------------------------------

def normalise(text: str) -> str:
    """BFCL's string comparison key: case, spaces and ``,./-_*^`` ignored, single quotes as double."""
    return _IGNORED.sub("", text).lower().replace("'", '"')


def _norm(value):
    return normalise(value) if isinstance(value, str) else value


def _type_ok(value, expected: type) -> bool:
    """``value`` has the Python type ``expected`` (bools are not ints; ints stand for floats)."""
    if expected is float and type(value) is int:
        return True
    return type(value) is expected


def _values(acceptable) -> list:
    return acceptable if isinstance(acceptable, list) else [acceptable]


def _dict_ok(value: dict, acceptable: list) -> bool:
    """One acceptable dict ({key: [values]}) takes every key of ``value``, and only optional keys are missing."""
    for option in acceptable:
        if not isinstance(option, dict):
            continue
        if all(k in option and _norm(v) in [_norm(a) for a in _values(option[k])] for k, v in value.items()) and \
                all(k in value or "" in _values(vals) for k, vals in option.items()):
            return True
    return False


def _list_of_dicts_ok(value: list, acceptable: list) -> bool:
    return any(isinstance(option, list) and len(option) == len(value)
               and all(isinstance(v, dict) and _dict_ok(v, [o]) for v, o in zip(value, option))
               for option in acceptable)


def check_value(value, acceptable: list, schema: dict) -> str | None:
    """Why ``value`` is not one of ``acceptable`` for a parameter of ``schema``; None when it is."""
    kind = schema.get("type")
    expected = PY_TYPES[kind]
    inner = PY_TYPES.get((schema.get("items") or {}).get("type")) if kind in ("array", "tuple") else None
    given = [a for a in acceptable if a != ""]
    # A value of another type than the schema's, like every acceptable one, is a variable name and
    # compared as it is (BFCL's rule).
    literal_type = type(given[0]) if given else None
    if literal_type is not None and literal_type is not expected and not (expected is float and literal_type is int):
        return None if type(value) is literal_type and value in given else f"expected one of {given!r}"
    if not _type_ok(value, expected):
        return f"expected type {kind}, got {type(value).__name__} {value!r}"
    if expected is float:
        value = float(value)
    # items of another type are variables too when an acceptable list holds that type
    item_types = {type(o[0]) for o in given if isinstance(o, list) and o}
    if inner is not None and not all(_type_ok(v, inner) or type(v) in item_types for v in value):
        return f"expected a list of type {schema['items']['type']}, got {value!r}"
    if expected is dict:
        ok = _dict_ok(value, given)
    elif expected is list and inner is dict:
        ok = _list_of_dicts_ok(value, given)
    elif expected is list:
        ok = [_norm(v) for v in value] in [[_norm(a) for a in option] for option in given if isinstance(option, list)]
    elif expected is str:
        ok = normalise(value) in [normalise(a) for a in acceptable if isinstance(a, str)]  # "" too, as BFCL
    else:
        ok = value in given
    return None if ok else f"{value!r} is not one of {given!r}"


def check_call(schema: dict, expected: dict, call: Call) -> str | None:
    """Why ``call`` does not match the expected call ``{name: {param: [acceptable]}}``; None when it does."""
    (name, acceptable), = expected.items()
    if call.name != name:
        return f"called {call.name!r}, expected {name!r}"
    params = schema["parameters"]
    properties = params.get("properties", {})
    for param in params.get("required", []):
        if param not in call.args:
            return f"{name}: missing required parameter {param!r}"
    for param, value in call.args.items():
        if param not in properties or param not in acceptable:
            return f"{name}: unexpected parameter {param!r}"
        why = check_value(value, acceptable[param], properties[param])
        if why is not None:
            return f"{name}: parameter {param!r}: {why}"
    for param, values in acceptable.items():
        if param not in call.args and "" not in values:
            return f"{name}: parameter {param!r} left out, and it is not optional"
    return None


def check_calls(functions: list[dict], ground_truth: list[dict], calls: list[Call]) -> str | None:
    """Why ``calls`` do not answer ``ground_truth``; None when they do.

    As many calls as expected, each expected call matched by a different call, in any order."""
    if len(calls) != len(ground_truth):
        return f"{len(calls)} call(s), expected {len(ground_truth)}"
    schemas = {f["name"]: f for f in functions}
    reasons: list[str] = []
    fits = []
    for expected in ground_truth:
        name = next(iter(expected))
        whys = [check_call(schemas[name], expected, call) for call in calls]
        fits.append([why is None for why in whys])
        named = [why for why, call in zip(whys, calls) if call.name == name and why is not None]
        reasons += named if named or None in whys else [f"no call of {name!r}"]
    if _perfect_matching(fits):
        return None
    return "; ".join(dict.fromkeys(reasons)) or "no one-to-one matching of the calls to the expected ones"


def _perfect_matching(fits: list[list[bool]]) -> bool:
    """Whether every row (expected call) gets its own column (call) with ``fits[row][col]``."""
    owner: dict[int, int] = {}

    def place(row: int, seen: set[int]) -> bool:
        for col, ok in enumerate(fits[row]):
            if ok and col not in seen:
                seen.add(col)
                if col not in owner or place(owner[col], seen):
                    owner[col] = row
                    return True
        return False

    return all(place(row, set()) for row in range(len(fits)))


# --- reading BFCL files --------------------------------------------------------------------

def read_bfcl(path, suite=None) -> list[dict]:
    """The cases of a BFCL question file and its ``possible_answer`` twin, or of every ``*.json``
    question file in a directory (taken from each file in turn)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise DatasetError(f"BFCL dataset {str(path)!r}: the directory holds no *.json question files")
        per_file = [_read_file(p) for p in files]
        cases = [c for group in _round_robin(per_file) for c in group]
        seen: dict[str, str] = {}
        for c in cases:
            if c["id"] in seen:
                raise DatasetError(f"BFCL dataset {str(path)!r}: id {c['id']!r} is used in two files "
                                   f"({seen[c['id']]} and {c['file']})")
            seen[c["id"]] = c["file"]
        return cases
    return _read_file(path)


def _round_robin(groups: list[list[dict]]) -> list[list[dict]]:
    return [[g[i] for g in groups if i < len(g)] for i in range(max(map(len, groups)))]


def _lines(path: Path, what: str) -> list[tuple[int, dict]]:
    where = f"BFCL {what} {str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}, line {lineno}: not valid JSON ({exc.msg} at column {exc.colno}); "
                               "BFCL files hold one JSON object per line") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{where}, line {lineno}: expected a JSON object, got {type(record).__name__}")
        if not isinstance(record.get("id"), str) or not record["id"]:
            raise DatasetError(f"{where}, line {lineno}, field 'id': expected a non-empty string, "
                               f"got {json.dumps(record.get('id'))[:60]}")
        records.append((lineno, record))
    if not records:
        raise DatasetError(f"{where}: the file holds no records")
    return records


def _read_file(path: Path) -> list[dict]:
    if not path.is_file():
        raise DatasetError(f"BFCL dataset {str(path)!r}: no such file. Pass a BFCL question file "
                           "(e.g. BFCL_v4_simple_python.json) or a directory of them")
    twin = path.parent / ANSWER_DIR / path.name
    if not twin.is_file():
        raise DatasetError(
            f"BFCL dataset {str(path)!r}: no answer file; looked for {str(twin)!r}. BFCL keeps the answers "
            f"beside the questions, in {ANSWER_DIR}/ under the same file name, one "
            '{"id": ..., "ground_truth": [...]} per line: put the answer file there')
    answers: dict[str, tuple[int, dict]] = {}
    for lineno, record in _lines(twin, "answer file"):
        if record["id"] in answers:
            raise DatasetError(f"BFCL answer file {str(twin)!r}, line {lineno}: id {record['id']!r} already "
                               f"used on line {answers[record['id']][0]}")
        answers[record["id"]] = (lineno, record)
    cases, seen = [], {}
    for lineno, record in _lines(path, "question file"):
        where = f"BFCL question file {str(path)!r}, line {lineno}, id {record['id']!r}"
        if record["id"] in seen:
            raise DatasetError(f"{where}: id already used on line {seen[record['id']]}")
        seen[record["id"]] = lineno
        if record["id"] not in answers:
            raise DatasetError(f"{where}: no record with this id in the answer file {str(twin)!r}")
        answer_line, answer = answers[record["id"]]
        functions = _functions(record.get("function"), where)
        cases.append({
            "id": record["id"], "file": path.name,
            "question": _messages(record.get("question"), where),
            "functions": functions,
            "ground_truth": _ground_truth(answer.get("ground_truth"), functions,
                                          f"BFCL answer file {str(twin)!r}, line {answer_line}, id {record['id']!r}"),
        })
        cases[-1]["category"] = _category(cases[-1], where)
    extra = sorted(set(answers) - set(seen), key=lambda i: answers[i][0])
    if extra:
        raise DatasetError(f"BFCL answer file {str(twin)!r}, line {answers[extra[0]][0]}: id {extra[0]!r} is not "
                           f"in the question file {str(path)!r} (the two files must hold the same ids)")
    return cases


def _bad(where: str, field: str, why: str) -> DatasetError:
    return DatasetError(f"{where}, field {field!r}: {why}")


def _messages(question, where: str) -> list[dict]:
    """The one turn of ``question`` as a list of messages (older files write a bare string or list)."""
    if isinstance(question, str):
        return [{"role": "user", "content": question}]
    if isinstance(question, list) and question and all(isinstance(t, list) for t in question):
        if len(question) != 1:
            raise _bad(where, "question", f"{len(question)} turns; only single-turn cases are read")
        question = question[0]
    if not isinstance(question, list) or not question:
        raise _bad(where, "question", "expected [[{\"role\": ..., \"content\": ...}, ...]]")
    for m in question:
        if not (isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)):
            raise _bad(where, "question", f"each message needs a role ({', '.join(ROLES)}) and a string "
                                          f"content; got {json.dumps(m)[:80]}")
    talk = [m["role"] for m in question if m["role"] != "system"]
    if not talk or talk[-1] != "user" or talk[0] != "user":
        raise _bad(where, "question", "the messages (after any system ones) must start and end with a user message")
    return [{"role": m["role"], "content": m["content"]} for m in question]


def _functions(functions, where: str) -> list[dict]:
    if isinstance(functions, dict):
        functions = [functions]
    if not isinstance(functions, list) or not functions:
        raise _bad(where, "function", "expected a non-empty list of function schemas")
    names = []
    for f in functions:
        if not (isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("parameters"), dict)
                and isinstance(f["parameters"].get("properties", {}), dict)):
            raise _bad(where, "function", 'each function needs a name (string) and parameters ({"properties": '
                                          f'{{...}}, "required": [...]}}); got {json.dumps(f)[:80]}')
        properties = f["parameters"].get("properties", {})
        for param, spec in properties.items():
            kind = spec.get("type") if isinstance(spec, dict) else None
            if kind not in PY_TYPES:
                raise _bad(where, "function", f"{f['name']}: parameter {param!r} has type {kind!r}; known types: "
                                              f"{', '.join(PY_TYPES)} (Java and JavaScript files are not read)")
            if kind in ("array", "tuple") and "items" in spec and not isinstance(spec["items"], dict):
                raise _bad(where, "function", f"{f['name']}: parameter {param!r}: items must be a schema object")
        required = f["parameters"].get("required", [])
        if not isinstance(required, list) or any(r not in properties for r in required):
            raise _bad(where, "function", f"{f['name']}: required must list parameters of its properties; "
                                          f"got {json.dumps(required)[:80]}")
        names.append(f["name"])
    if len(set(names)) != len(names):
        raise _bad(where, "function", f"function names must be distinct; got {names}")
    return functions


def _ground_truth(truth, functions: list[dict], where: str) -> list[dict]:
    if not isinstance(truth, list) or not truth:
        raise _bad(where, "ground_truth", "expected a non-empty list of {\"func_name\": {\"param\": [values]}}")
    offered = {f["name"]: f for f in functions}
    for call in truth:
        if not (isinstance(call, dict) and len(call) == 1 and isinstance(next(iter(call.values())), dict)):
            raise _bad(where, "ground_truth", f"each expected call is {{\"func_name\": {{\"param\": [values]}}}}; "
                                              f"got {json.dumps(call)[:80]}")
        (name, params), = call.items()
        if name not in offered:
            raise _bad(where, "ground_truth", f"calls {name!r}, which the question does not offer "
                                              f"(offered: {', '.join(offered)})")
        for param, values in params.items():
            if not isinstance(values, list):
                raise _bad(where, "ground_truth", f"{name}: parameter {param!r}: expected a list of acceptable "
                                                  f"values (\"\" marks it optional); got {json.dumps(values)[:60]}")
    return truth


def _category(case: dict, where: str) -> str:
    for pattern, why in _UNSUPPORTED:
        if pattern.match(case["id"]):
            raise _bad(where, "id", why)
    n_calls, n_functions = len(case["ground_truth"]), len(case["functions"])
    m = _ID_CATEGORY.fullmatch(case["id"])
    if m is None:
        return ("parallel" if n_functions == 1 else "parallel_multiple") if n_calls > 1 else \
            ("simple" if n_functions == 1 else "multiple")
    category = m.group(1)
    if (n_calls > 1) != category.startswith("parallel"):
        raise _bad(where, "ground_truth", f"{n_calls} expected call(s), but the id names the {category!r} "
                                          "category (parallel ones expect several calls, the others one)")
    return category


# --- prompts -------------------------------------------------------------------------------

INSTRUCTION = {
    "python": ("Answer with the function call(s) that do what the user asks, and nothing else, as a Python "
               "list of calls with keyword arguments: [func_name1(param=value, ...), func_name2(param=value)]."),
    "json": ("Answer with the function call(s) that do what the user asks, and nothing else, as a JSON list: "
             '[{"name": "func_name1", "arguments": {"param": value}}, ...].'),
}


def system_prompt(case: dict, syntax: str) -> str:
    """The functions and the answer format, before any system message of the case's own."""
    own = [m["content"] for m in case["question"] if m["role"] == "system"]
    head = (f"You can call these functions, described in JSON:\n{json.dumps(case['functions'], ensure_ascii=False)}"
            f"\n\n{INSTRUCTION[syntax]}")
    return "\n\n".join([head, *own])


def conversation(case: dict) -> tuple[list[tuple[str, str]], str]:
    """The case's turns as earlier (user, assistant) exchanges and the last user message."""
    shots, users = [], []
    for m in case["question"]:
        if m["role"] == "user":
            users.append(m["content"])
        elif m["role"] == "assistant":
            shots.append(("\n".join(users), m["content"]))
            users = []
    return shots, "\n".join(users)


def gold_calls(case: dict) -> list[Call]:
    """One right answer: each expected call with the longest acceptable value of every parameter
    that has one (optional parameters included)."""
    schemas = {f["name"]: f for f in case["functions"]}
    calls = []
    for expected in case["ground_truth"]:
        (name, params), = expected.items()
        known = schemas[name]["parameters"].get("properties", {})
        calls.append(Call(name, {p: _pick(vals) for p, vals in params.items()
                                 if p in known and any(v != "" for v in _values(vals))}))
    return calls


def _pick(acceptable):
    """The longest acceptable value, a dict option ({key: [values]}) made a value, key by key."""
    best = max((v for v in _values(acceptable) if v != ""), key=lambda v: len(json.dumps(v)))
    if isinstance(best, dict):
        return {k: _pick(vals) for k, vals in best.items() if any(v != "" for v in _values(vals))}
    if isinstance(best, list) and best and all(isinstance(v, dict) for v in best):
        return [_pick([v]) for v in best]
    return best


def call_tokens(case: dict, syntax: str) -> int:
    """Generation budget: room for the longest right answer (about two characters a token) and a preamble."""
    render = render_json if syntax == "json" else render_python
    return min(MAX_CALL_TOKENS, 32 + len(render(gold_calls(case))) // 2)


# --- the suite -----------------------------------------------------------------------------

@register_suite("bfcl")
class BFCL(Suite):
    family = "agentic"
    metrics = (
        Metric("accuracy", max_drop=0.10, description="every expected call made, as BFCL's AST checker judges it"),
        Metric("parsed", description="a call could be read from the reply (Python-call or JSON syntax)"),
        *(Metric(c, description=f"accuracy on the {c} cases") for c in CATEGORIES),
    )
    primary = "accuracy"
    defaults = {"n": 100, "seed": 0, "syntax": "python"}
    param_rules = {"syntax": OneOf(SYNTAXES[1:])}
    version = 1
    reads_foreign_only = True

    def __init__(self, **params):
        super().__init__(**params)
        if self.dataset is not None and split_format(self.dataset)[0] is None:
            self.dataset = f"bfcl:{self.dataset}"  # a bare path on this suite is a BFCL file
            self.params["dataset"] = self.dataset

    def cases(self) -> list[dict]:
        """The project's sample (every file of :data:`SAMPLE_DIR`), the first ``n``."""
        return read_bfcl(SAMPLE_DIR)[: self.params["n"]]

    def run(self, engine, cases, reference=None):
        syntax = self.params["syntax"]
        requests = []
        for c in cases:
            shots, user = conversation(c)
            prompt = engine.format(user, system=system_prompt(c, syntax), shots=shots)
            requests.append(GenerationRequest(prompt, call_tokens(c, syntax)))
        return [{"text": t} for t in engine.generate(requests)]

    def score(self, case, output, reference=None):
        calls = parse_calls(output["text"])
        right = float(check_calls(case["functions"], case["ground_truth"], calls) is None)
        s = {"accuracy": right, "parsed": float(bool(calls))}
        for category in CATEGORIES:
            s[category] = right if case["category"] == category else math.nan
        return s


READERS = {"bfcl": read_bfcl}
