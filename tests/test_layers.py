"""The import layers of the tree, listed once: a module imports only from the layers below its own.

Each layer is a set of peers that never import each other: the pipeline's stages
(assemble, execute, judge) meet only in what lies under them (the protocol of the
kernel boundary, the cells assemble hands to judge).  Every import counts, at
module level or inside a function, relative or absolute.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: lowest first; a component is a top-level module or package of ``autograder``
#: (``autograder`` itself is the package's ``__init__``), or ``nn_utils`` as a whole
LAYERS = (
    ("nn_utils",),                                  # the students' checker: no autograder
    ("autograder",),                                # the package root: UsageError
    ("protocol", "cells", "record", "course", "reference"),
    ("kernel_side",),                               # the kernel's half of the protocol
    ("assemble", "execute", "judge", "bundle", "demo_class"),
    ("store",),
    ("feedback", "similarity"),
    ("pipeline",),
    ("commands",),
    ("cli",),
    ("__main__",),
)
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _component(module: str) -> str | None:
    """The layer component of a dotted module name (None: outside the tree)."""
    parts = module.split(".")
    if parts[0] == "nn_utils":
        return "nn_utils"
    if parts[0] != "autograder":
        return None
    if len(parts) == 1:
        return "autograder"
    return parts[1] if (ROOT / "autograder" / parts[1]).is_dir() or \
        (ROOT / "autograder" / f"{parts[1]}.py").is_file() else "autograder"


def _imports(path: Path):
    """(line, imported module) for every import of ``path``, relative ones resolved."""
    package = _module(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            # ``from autograder import store`` imports the submodule, not a name of the root
            yield from ((node.lineno, f"{target}.{alias.name}") for alias in node.names)


def _sources():
    for top in ("autograder", "nn_utils"):
        yield from sorted((ROOT / top).rglob("*.py"))


def _violations() -> list[str]:
    found = []
    for path in _sources():
        mine = _component(_module(path))
        for line, target in _imports(path):
            theirs = _component(target)
            if theirs is None or theirs == mine:
                continue
            if mine not in LEVEL or theirs not in LEVEL:
                found.append(f"{path.relative_to(ROOT)}:{line}: "
                             f"{mine if mine not in LEVEL else theirs} is in no layer")
            elif LEVEL[theirs] >= LEVEL[mine]:
                how = "a peer" if LEVEL[theirs] == LEVEL[mine] else "a higher layer"
                found.append(f"{path.relative_to(ROOT)}:{line}: {mine} imports {theirs} "
                             f"({how})")
    return list(dict.fromkeys(found))   # one line per import, not per imported name


def test_every_component_has_a_layer():
    components = {_component(_module(p)) for p in _sources()}
    assert components - set(LEVEL) == set()


def test_imports_follow_the_layers():
    assert _violations() == []


@pytest.mark.parametrize("importer, imported", [
    ("assemble", "judge"), ("judge", "assemble"),
    *[("execute", other) for other in ("judge", "store", "feedback", "pipeline", "commands")],
    *[(other, "commands") for other in LEVEL if other not in ("commands", "cli", "__main__")],
    ("nn_utils", "autograder"), ("nn_utils", "protocol"),
])
def test_the_layers_forbid(importer, imported):
    """The rules the layer order implies (a change of ``LAYERS`` must keep them)."""
    assert LEVEL[imported] >= LEVEL[importer]
