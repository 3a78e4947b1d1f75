import keyword

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.suites.bfcl import check_calls
from pytest_compress.suites.calls import Call, parse_calls, render_json, render_python
from pytest_compress.suites.tool_use import parse_call, parse_json_call


@pytest.mark.parametrize("text, expected", [
    ("geometry.circumference(radius=3)", [Call("geometry.circumference", {"radius": 3})]),
    ("math.factorial(number=5)", [Call("math.factorial", {"number": 5})]),
    ("calculus.area(function='x**2', interval=[1.0, 3.0])",
     [Call("calculus.area", {"function": "x**2", "interval": [1.0, 3.0]})]),
    ('crm.add(opts={"a": 1, "b": [True, None]}, n=-2, x=1e-3, t=(1, 2))',
     [Call("crm.add", {"opts": {"a": 1, "b": [True, None]}, "n": -2, "x": 0.001, "t": [1, 2]})]),
    ("f()", [Call("f", {})]),
    # several calls: a list, one per line, ';' or ','
    ("[f(a=1), g.h(b='x')]", [Call("f", {"a": 1}), Call("g.h", {"b": "x"})]),
    ("f(a=1)\ng(b=2)", [Call("f", {"a": 1}), Call("g", {"b": 2})]),
    ("f(a=1); g(b=2), h(c=3)", [Call("f", {"a": 1}), Call("g", {"b": 2}), Call("h", {"c": 3})]),
    # prose, backticks and code fences around the call
    ("Sure! Here it is: `f(a='x')` and that's all.", [Call("f", {"a": "x"})]),
    ("```python\n[f(a=1),\n g(b=2)]\n```\nThese calls do it.", [Call("f", {"a": 1}), Call("g", {"b": 2})]),
    ("I would call (the tool) like this: f(city='Oslo')", [Call("f", {"city": "Oslo"})]),
    ("first f(a=1). Then g(b=2).", [Call("f", {"a": 1})]),  # only the calls right after the first
    # arguments named like Python keywords, and non-literal values (kept as their source text)
    ("flights.search(from='Oslo', to='Rome', class='economy')",
     [Call("flights.search", {"from": "Oslo", "to": "Rome", "class": "economy"})]),
    ("fit(x=data['sales'], f=lambda x: x**2, s={1, 2})",
     [Call("fit", {"x": "data['sales']", "f": "lambda x: x**2", "s": "{1, 2}"})]),
    ('f(a="line one\nline two")', [Call("f", {"a": "line one\nline two"})]),
])
def test_python_syntax(text, expected):
    assert parse_calls(text) == expected
    assert parse_calls(text, "python") == expected


@pytest.mark.parametrize("text, expected", [
    ('{"name": "geometry.circumference", "arguments": {"radius": 3}}', [Call("geometry.circumference", {"radius": 3})]),
    ('{"name": "f", "args": {"interval": [1.0, 3.0], "o": {"k": null}}}',
     [Call("f", {"interval": [1.0, 3.0], "o": {"k": None}})]),
    ('{"name": "f", "parameters": {"a": true}}', [Call("f", {"a": True})]),
    ('{"name": "f", "arguments": "{\\"a\\": 1}"}', [Call("f", {"a": 1})]),  # OpenAI: arguments as a string
    ('{"type": "function", "function": {"name": "f", "arguments": {}}}', [Call("f", {})]),
    ('[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {"b": 2}}]',
     [Call("f", {"a": 1}), Call("g", {"b": 2})]),
    ('{"name": "f", "arguments": {}}\n{"name": "g", "arguments": {}}', [Call("f", {}), Call("g", {})]),
    ('{"math.factorial": {"number": 5}}', [Call("math.factorial", {"number": 5})]),  # BFCL's own shape
    ('[{"f": {"a": 1}}, {"g": {}}]', [Call("f", {"a": 1}), Call("g", {})]),
    ("Answer: ```json\n{'name': 'f', 'args': {'a': True}}\n```", [Call("f", {"a": True})]),  # Python literals
    ('{"name": "f", "arguments": {"x": "g(a=1)"}}', [Call("f", {"x": "g(a=1)"})]),  # a call in a string is text
])
def test_json_syntax(text, expected):
    assert parse_calls(text) == expected
    assert parse_calls(text, "json") == expected


@pytest.mark.parametrize("text", [
    "", "no call here", "I cannot (sorry) help", "f(1, 2)", "f(a, b=2)", "f(**kw)", "f(a=1, a=2)", "f(a=1",
    "print('hi'", "{}", "null", "[1, 2]", '{"name": "f"}', '{"name": 3, "args": {}}', '{"a": 1}',
    '{"name": "f", "args": [1]}', '{"name": "f", "arguments": "not json"}', "[]",
])
def test_garbage_is_no_call(text):
    assert parse_calls(text) == []


def test_syntax_limits_the_forms_read():
    py, js = "f(a=1)", '{"name": "f", "arguments": {"a": 1}}'
    assert parse_calls(py, "json") == [] and parse_calls(js, "python") == []
    assert parse_calls(js, "json", arg_keys=("args",)) == []
    assert parse_calls('{"f": {"a": 1}}', "json", bare=False) == []
    with pytest.raises(ValueError, match="syntax"):
        parse_calls(py, "xml")


def test_rendering():
    calls = [Call("a.b", {"x": [1.0, {"k": None}], "s": "it's", "t": True})]
    assert render_python(calls) == "a.b(x=[1.0, {'k': None}], s=\"it's\", t=True)"
    assert render_json(calls) == '{"name": "a.b", "arguments": {"x": [1.0, {"k": null}], "s": "it\'s", "t": true}}'
    assert render_python(calls * 2).startswith("[a.b(") and render_json(calls * 2).startswith("[{")


_IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
_NAMES = st.lists(_IDENT.filter(lambda s: not keyword.iskeyword(s)), min_size=1, max_size=3).map(".".join)
_ARG_NAMES = _IDENT.filter(lambda s: s not in ("True", "False", "None"))  # other keywords are renamed
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6)
_CALLS = st.lists(st.builds(Call, _NAMES, st.dictionaries(_ARG_NAMES, _VALUES, max_size=3)), min_size=1, max_size=3)


@given(_CALLS, st.sampled_from(["", "Sure: ", "```python\n", "`"]))
def test_rendered_calls_parse_back(calls, prefix):
    assert parse_calls(prefix + render_python(calls)) == calls
    assert parse_calls(prefix + render_json(calls)) == calls
    assert parse_calls("\n".join(render_python([c]) for c in calls)) == calls


_CIRCUMFERENCE = {"name": "geometry.circumference", "description": "Circumference of a circle.",
                  "parameters": {"type": "dict", "required": ["radius"],
                                 "properties": {"radius": {"type": "integer"}, "units": {"type": "string"}}}}
_AREA = {"name": "calculus.area", "description": "Area under a curve.",
         "parameters": {"type": "dict", "required": ["function", "interval"],
                        "properties": {"function": {"type": "string"},
                                       "interval": {"type": "array", "items": {"type": "float"}}}}}


@pytest.mark.parametrize("functions, truth, text", [
    ([_CIRCUMFERENCE], [{"geometry.circumference": {"radius": [3], "units": ["cm", ""]}}],
     "geometry.circumference(radius=3)"),
    ([_CIRCUMFERENCE], [{"geometry.circumference": {"radius": [3], "units": ["cm", ""]}}],
     '{"name": "geometry.circumference", "arguments": {"radius": 3, "units": "cm"}}'),
    ([_AREA], [{"calculus.area": {"function": ["x**2"], "interval": [[1.0, 3.0]]}}],
     "calculus.area(function='x**2', interval=[1.0, 3.0])"),
    ([_AREA], [{"calculus.area": {"function": ["x**2"], "interval": [[1.0, 3.0]]}}],
     '[{"name": "calculus.area", "arguments": {"function": "x**2", "interval": [1.0, 3.0]}}]'),
])
def test_parsed_calls_score_right_in_both_syntaxes(functions, truth, text):
    assert check_calls(functions, truth, parse_calls(text)) is None
    assert check_calls(functions, truth, parse_calls(text.replace("3", "4"))) is not None


def test_tool_use_keeps_its_string_contract_with_whole_names_and_lists():
    assert parse_call("geometry.circumference(radius=3)") == ("geometry.circumference", {"radius": "3"})
    assert parse_call("f(interval=[1.0, 3.0], o={'a': 1}, b=True)") == (
        "f", {"interval": "[1.0, 3.0]", "o": '{"a": 1}', "b": "true"})
    assert parse_json_call('{"name": "g.h", "args": {"x": [1, 2], "y": null}}') == ("g.h", {"x": "[1, 2]", "y": "null"})
    assert parse_json_call('{"name": "g", "arguments": {"x": 1}}') is None  # tool_use asks for "args"
