import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_compress.errors import CompressUsageError
from pytest_compress.compress.forms import FormatForm, PrunerForm, QuantizerForm
from pytest_compress.compress.registry import METHOD_ENTRIES
from pytest_compress.spec import DEFAULT_GROUP_SIZE, CompressionSpec, MethodStep, parse_spec, parse_spec_list

QUANTIZERS = sorted(n for n, e in METHOD_ENTRIES.items() if isinstance(e.form, QuantizerForm))
PRUNERS = sorted(n for n, e in METHOD_ENTRIES.items() if isinstance(e.form, PrunerForm))
FORMATS = sorted(n for n, e in METHOD_ENTRIES.items() if isinstance(e.form, FormatForm))


def _quant_step(method, bits, group, sym, own):
    options = frozenset(o.flag for o in METHOD_ENTRIES[method].form.options) if own else frozenset()
    return MethodStep(method, bits=bits, group_size=group, symmetric=sym, options=options)


quant_steps = st.builds(
    _quant_step,
    st.sampled_from(QUANTIZERS), st.integers(2, 8), st.sampled_from([0, 32, 64, 128, 100]), st.booleans(), st.booleans(),
)
prune_steps = st.one_of(
    st.builds(lambda m, p: MethodStep(m, sparsity_pct=p), st.sampled_from(PRUNERS), st.integers(1, 99)),
    st.builds(lambda m, nm: MethodStep(m, n_of_m=nm), st.sampled_from(PRUNERS),
              st.integers(2, 16).flatmap(lambda m: st.tuples(st.integers(1, m - 1), st.just(m)))),
)
format_steps = st.sampled_from(FORMATS).flatmap(lambda m: st.builds(
    lambda flags: METHOD_ENTRIES[m].form.parse(m, "".join(f"-{f}" for f in flags)),
    st.sets(st.sampled_from([o.flag for o in METHOD_ENTRIES[m].form.options] or [None])).map(
        lambda s: sorted(f for f in s if f))))
def _one_format_per_runtime_kind(steps) -> bool:
    kinds = [METHOD_ENTRIES[s.method].form.runtime_kind(s) for s in steps]
    kinds = [k for k in kinds if k]
    return len(kinds) == len(set(kinds))


specs = st.lists(st.one_of(quant_steps, prune_steps, format_steps), max_size=3).filter(
    _one_format_per_runtime_kind).map(lambda s: CompressionSpec(tuple(s)))


@given(specs)
def test_parse_of_format_round_trips(spec):
    assert parse_spec(str(spec)) == spec


@given(specs)
def test_format_is_canonical_under_case_and_spaces(spec):
    assert parse_spec(f"  {str(spec).upper()} ") == spec


@pytest.mark.parametrize("text, canonical", [
    ("none", "none"), ("NONE", "none"), ("rtn4g128", "rtn4"), ("RTN4G128", "rtn4"), ("rtn8g0", "rtn8g0"),
    ("gptq4-act", "gptq4-act"), ("gptq3g64-act-sym", "gptq3g64-sym-act"), ("awq4", "awq4"),
    ("wanda50", "wanda50"), ("wanda2:4", "wanda2:4"), ("sparsegpt50+gptq4", "sparsegpt50+gptq4"),
    ("FP8", "fp8"), ("fp8-w", "fp8-w"), ("w8a8-sq", "w8a8-sq"), ("NVFP4-A", "nvfp4-a"), ("mxfp4", "mxfp4"),
    ("awq4+kv8", "awq4+kv8"), ("sparsegpt2:4+fp8", "sparsegpt2:4+fp8"), ("kvi4", "kvi4"), ("kvi8", "kvi8"),
])
def test_canonical_forms(text, canonical):
    assert str(parse_spec(text)) == canonical


def test_what_acts_at_run_time_is_the_form_s_to_say():
    kinds = {text: METHOD_ENTRIES[s.method].form.runtime_kind(s)
             for text in ("fp8", "fp8-w", "w8a8", "nvfp4", "nvfp4-a", "mxfp4-a", "kvi4", "rtn4", "wanda50")
             for s in parse_spec(text).steps}
    assert kinds == {"fp8": "activations", "fp8-w": None, "w8a8": "activations", "nvfp4": None,
                     "nvfp4-a": "activations", "mxfp4-a": "activations", "kvi4": "kv_cache", "rtn4": None,
                     "wanda50": None}
    assert str(parse_spec("fp8-w+w8a8+kv8")) == "fp8-w+w8a8+kv8"  # one format of each kind stacks


def test_format_steps_fix_their_bits_and_groups():
    steps = {name: parse_spec(name).steps[0] for name in ("fp8", "w8a8", "nvfp4", "mxfp4", "kv8")}
    assert {n: (s.bits, s.group_size) for n, s in steps.items()} == {
        "fp8": (8, 0), "w8a8": (8, 0), "nvfp4": (4, 16), "mxfp4": (4, 32), "kv8": (None, None)}
    assert not steps["kv8"].is_quantizer and steps["kv8"].sparsity == 0


def test_defaults_follow_the_papers():
    step = parse_spec("gptq4").steps[0]
    assert (step.bits, step.group_size, step.symmetric, step.options) == (4, DEFAULT_GROUP_SIZE, False, frozenset())
    assert parse_spec("wanda2:4").steps[0].sparsity == 0.5
    assert parse_spec("none").is_none


@pytest.mark.parametrize("bad, fragment", [
    ("bogus", "unknown method"), ("rtn9", "2 to 8 bits"), ("rtn1", "2 to 8 bits"), ("awq4-act", "awq has no option -act (its options: -sym)"),
    ("wanda0", "1..99"), ("wanda100", "1..99"), ("wanda4:2", "N < M"), ("none+rtn4", "cannot be combined"),
    ("rtn4+", "empty step"), ("", "empty spec"), ("rtn", "does not fit"), ("gtpq4", "Did you mean 'gptq'"),
    ("rtn4-sym-sym", "repeated flag"), ("fp8-a", "fp8 has no option -a (its options: -w)"),
    ("kv8-w", "kv8 has no option -w (its options: none)"), ("nvfp4g32", "does not fit the form of nvfp4: nvfp4[-a]"),
    ("kv4", "unknown method"),
    ("fp8+w8a8", "fp8 and w8a8 both quantize the activations; a spec quantizes each in one format"),
    ("awq4+kv8+kvi4", "kv8 and kvi4 both quantize the KV cache"), ("nvfp4-a+mxfp4-a", "both quantize the activations"),
])
def test_bad_specs_name_the_problem_and_list_valid_forms(bad, fragment):
    with pytest.raises(CompressUsageError) as info:
        parse_spec(bad)
    assert fragment in str(info.value)
    assert "Valid forms" in str(info.value)


def test_spec_list_keeps_order_and_drops_duplicates():
    assert [str(s) for s in parse_spec_list("rtn8, rtn4,RTN8,none")] == ["rtn8", "rtn4", "none"]
    with pytest.raises(CompressUsageError):
        parse_spec_list(" , ")
