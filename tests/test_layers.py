"""The layer order of the README's Layout section holds: every module's imports, also those inside functions
(read with ``ast``, so no lazy import hides), point down or sideways, never up; metrics and formats never
import torch."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "deeperaction"
LAYERS = [
    {"schema", "errors", "outputs", "kinematics"},
    {"formats", "metrics"},
    {"video", "perception", "synth"},
    {"models"},
    {"datasets"},
    {"train"},
    {"tasks", "viz"},
    {"cli", "__main__", "__init__"},
]
"""Lowest first; a module may import its own layer and the ones below. Must match README.md's Layout."""
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
NO_TORCH = {"formats", "metrics", "schema", "errors", "outputs", "kinematics"}


def top_name(path: Path, package: Path) -> str:
    """``deeperaction/<top>/...`` or ``deeperaction/<top>.py`` -> ``top`` (the package's own ``__init__``)."""
    rel = path.relative_to(package)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else "__init__"


def imports(path: Path, package: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import statement in the file, at any depth (relative ones resolved)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(path.relative_to(package.parent).with_suffix("").parts)[:-node.level]
                out.append((node.lineno, ".".join(base + ([node.module] if node.module else []))))
            elif node.module:
                out.append((node.lineno, node.module))
    return out


def violations(package: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        src = top_name(path, package)
        for line, mod in imports(path, package):
            parts = mod.split(".")
            if parts[0] == "torch" and src in NO_TORCH:
                found.append(f"{path.relative_to(package.parent)}:{line}: {src} imports torch")
            if parts[0] != "deeperaction" or len(parts) < 2:
                continue
            dst = parts[1]
            if dst not in RANK or src not in RANK:
                found.append(f"{path.relative_to(package.parent)}:{line}: {src} or {dst} is in no layer")
            elif RANK[dst] > RANK[src]:
                found.append(f"{path.relative_to(package.parent)}:{line}: {src} (layer {RANK[src]}) imports "
                             f"{mod} (layer {RANK[dst]})")
    return found


def test_imports_point_down():
    assert violations() == []


def test_an_upward_import_is_caught(tmp_path):
    """The check itself can fail: a models/ module importing train/ inside a function is reported."""
    import shutil

    copy = tmp_path / "deeperaction"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "models" / "upward.py").write_text("def f():\n    from deeperaction.train.engine import fit\n")
    (copy / "metrics" / "torchy.py").write_text("import torch\n")
    found = violations(copy)
    assert len(found) == 2, found
    assert "models (layer 3) imports deeperaction.train.engine (layer 5)" in found[0] + found[1]
    assert any("metrics imports torch" in f for f in found)


@pytest.mark.parametrize("layer", [name for layer in LAYERS for name in layer if name not in ("__main__", "__init__")])
def test_every_layer_exists(layer):
    assert (PACKAGE / layer).is_dir() or (PACKAGE / f"{layer}.py").is_file(), layer
