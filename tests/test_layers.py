"""The house's import directions: a module imports only from its own layer or the ones below.

The layers, lowest first, as the README's layout section writes them. Every ``import`` of a
``pytest_compress`` module is checked, those inside functions too (a lazy import is still a
dependency); the tiny model's training script is an application of the library, not part of it.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_compress"
LAYERS = (
    ("pytest_compress", "errors", "registry", "limits", "cache", "casefile"),  # foundations
    ("metrics",),
    ("gate",),
    ("results", "compress", "spec"),
    ("models",),
    ("engine",),
    ("suites",),
    ("report", "distributed", "shards"),
    ("runner",),
    ("settings", "listing"),
    ("markers", "fixtures", "plugin"),  # the only modules that know pytest
)
LAYER_OF = {name: rank for rank, names in enumerate(LAYERS) for name in names}
APPLICATIONS = {"pytest_compress.models.tiny.train"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """``(line, imported module)`` for every import of a pytest_compress module in ``path``."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "pytest_compress":
                yield node.lineno, target
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "pytest_compress":
                    yield node.lineno, alias.name


def _component(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _module_name(p) not in APPLICATIONS)


def test_every_component_has_a_layer():
    assert {_component(_module_name(p)) for p in MODULES} <= set(LAYER_OF)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_go_down_or_across_never_up(path):
    here = _component(_module_name(path))
    upward = [f"line {line}: {target} (layer {LAYER_OF[_component(target)]} > {LAYER_OF[here]})"
              for line, target in _imports(path) if LAYER_OF[_component(target)] > LAYER_OF[here]]
    assert not upward, f"{_module_name(path)} imports from a higher layer: {upward}"


def test_no_two_components_import_each_other():
    edges = {(_component(_module_name(p)), _component(t)) for p in MODULES for _, t in _imports(p)}
    circles = sorted((a, b) for a, b in edges if a < b and (b, a) in edges)
    assert not circles, f"components that import each other: {circles}"


GLUE = set(LAYERS[-1])


@pytest.mark.parametrize("path", [p for p in MODULES if _component(_module_name(p)) not in GLUE],
                         ids=lambda p: _module_name(p))
def test_only_the_glue_imports_pytest(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level]
    assert not [n for n in names if n.split(".")[0] in ("pytest", "_pytest")], _module_name(path)
