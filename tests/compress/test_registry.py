"""A method owns its grammar: one module registers it, with an option of its own, and the spec
parser, the valid forms and ``--compress-list`` know it without any shared code changing."""

from pathlib import Path

import pytest
import torch

from pytest_compress.compress import compress
from pytest_compress.compress.quantizer import row_qparams
from pytest_compress.compress.registry import METHOD_ENTRIES, METHODS_REGISTRY, register_method
from pytest_compress.errors import CompressUsageError
from pytest_compress.spec import parse_spec, valid_forms

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_example() -> str:
    """The README's worked example of a method of one's own (section "Adding a method"): a
    throwaway method that rounds toward zero on the symmetric grid, or to half steps with its
    own option ``-half``. The test runs the README's text, so the two cannot drift apart."""
    text = README.read_text(encoding="utf-8")
    start = text.index("```python\n# user_methods.py") + len("```python\n")
    return text[start:text.index("```", start)]


METHOD_MODULE = _readme_example()


@pytest.fixture
def trunc_method():
    """Register the throwaway method for one test, and forget it after."""
    entries, classes = dict(METHOD_ENTRIES), dict(METHODS_REGISTRY._classes)
    namespace = {"__name__": "user_methods"}
    exec(compile(METHOD_MODULE, "user_methods.py", "exec"), namespace)
    yield namespace["Truncate"]
    METHOD_ENTRIES.clear(), METHOD_ENTRIES.update(entries)
    METHODS_REGISTRY._classes.clear(), METHODS_REGISTRY._classes.update(classes)


def test_a_registered_method_parses_in_its_own_form_with_its_own_option(trunc_method):
    spec = parse_spec("TRUNC3G32-half-sym")
    (step,) = spec.steps
    assert (step.method, step.bits, step.group_size, step.symmetric, step.options) == (
        "trunc", 3, 32, True, frozenset({"half"}))
    assert str(spec) == "trunc3g32-sym-half" and parse_spec(str(spec)) == spec
    assert str(parse_spec("sparsegpt2:4+trunc4")) == "sparsegpt2:4+trunc4"
    assert any(line.startswith("trunc<bits>[g<group>][-sym][-half]") and "keep half steps" in line
               for line in valid_forms())


@pytest.mark.parametrize("bad, fragment", [
    ("trunc7", "trunc takes 2 to 6 bits, got 7"),
    ("trunc4-act", "trunc has no option -act (its options: -sym, -half)"),
    ("gptq4-half", "gptq has no option -half"),
    ("trunx4", "Did you mean 'trunc'"),
])
def test_a_registered_method_refuses_what_its_form_does_not_hold(trunc_method, bad, fragment):
    with pytest.raises(CompressUsageError, match="Valid forms") as info:
        parse_spec(bad)
    assert fragment in str(info.value)


def test_a_registered_method_compresses_through_the_one_verb(trunc_method, tiny_llama):
    W = tiny_llama.model.layers[0].mlp.up_proj.weight.detach().clone()
    report = compress(tiny_llama, parse_spec("trunc4-half"))
    W_hat = tiny_llama.model.layers[0].mlp.up_proj.weight.detach()
    scale, _ = row_qparams(W, 4, True)
    assert torch.equal(W_hat, torch.trunc(W / scale * 2) * scale / 2)  # what the option asked for
    assert report.spec == "trunc4-half" and report.layers


def test_forgotten_after_the_test():
    with pytest.raises(CompressUsageError, match="unknown method 'trunc4'"):
        parse_spec("trunc4")


def test_a_method_outside_the_package_needs_a_form_and_a_plain_name():
    with pytest.raises(ValueError, match="pass its form"):
        register_method("mystery")
    with pytest.raises(ValueError, match="lower-case letters"):
        register_method("Bad-Name", form=METHOD_ENTRIES["rtn"].form)


def test_a_conftest_method_gates_end_to_end(pytester):
    """The user story: one file that registers a method, and ``--compress`` accepts it."""
    pytester.makepyfile(user_methods=METHOD_MODULE)
    pytester.makeconftest("import user_methods  # noqa: F401  (registers 'trunc')")
    pytester.makepyfile(test_gate='''
from pytest_compress import agentic_task

@agentic_task("tool_use", n=4)
def test_tools(task_result):
    assert task_result.spec == "trunc6-half"
''')
    listing = pytester.runpytest_subprocess("--compress-list")
    line = next(x for x in listing.stdout.lines if x.strip().startswith("trunc"))
    assert line.split()[0] == "trunc<bits>[g<group>][-sym][-half]" and "keep half steps" in line
    result = pytester.runpytest_subprocess("--compress=trunc6-half", "--compress-model=tiny", "--compress-suites=none",
                                           "--compress-no-cache", "-p", "no:randomly")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*1 inconclusive in *"])  # lenient: an undecided check passes its test
    result.stdout.fnmatch_lines(["trunc6-half: * bits/weight*", "*trunc6-half  tool_use.retrieve *"])
