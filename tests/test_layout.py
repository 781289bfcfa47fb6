"""The layout holds its layers: imports point down, no module imports itself back, and only the
composition root (bot/runtime/server.py) knows Slack. Imports are read with ``ast``, including those
inside functions and under TYPE_CHECKING, so a lazy import cannot hide a circle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers")
COMPOSITION_ROOT = "bot.runtime.server"

# A module in a layer may import its own layer and those below it, never those above.
LAYERS = {
    "foundation": 0,  # bot/*.py: settings, errors, names, dns, registry, report
    "mail": 1,  # bot/mail: one module per protocol, parsing, findings
    "verify": 2,  # bot/verify: the engine
    "approvals": 2,  # bot/approvals: countersign state machine, stores, audit
    "runtime": 3,  # bot/runtime: the running service
    "surface": 4,  # bot/cli (a package), bot/__main__.py, handlers/
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules that ``path`` imports (``from pkg import sub`` names the submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    out.add(sub)
                elif node.module in modules:
                    out.add(node.module)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "handlers" or parts[:2] == ["bot", "cli"] or module == "bot.__main__":
        return "surface"
    if len(parts) == 2 and parts[1] in LAYERS:
        return parts[1]  # a package's own __init__
    if len(parts) >= 3:
        return parts[1]
    return "foundation"


def test_every_package_is_a_known_layer() -> None:
    for module in _modules():
        assert _layer(module) in LAYERS, module


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every back edge found by a depth-first walk, as the circle it closes."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_the_circle_check_finds_the_old_circles() -> None:
    graph = _graph()
    graph["bot.verify.message"] |= {"bot.verify.verifier"}  # the mail engine's old back-import
    graph["bot.approvals.store"] |= {"bot.approvals.store_sqlite"}  # the old store factory
    found = {tuple(c) for c in _cycles(graph)}
    assert any("bot.verify.message" in c and "bot.verify.verifier" in c for c in found)
    assert any("bot.approvals.store_sqlite" in c for c in found)


def test_imports_point_down_the_layers() -> None:
    upward = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in _graph().items()
        for target in targets
        if module != COMPOSITION_ROOT and LAYERS[_layer(target)] > LAYERS[_layer(module)]
    ]
    assert upward == []


def test_verify_and_approvals_do_not_know_each_other() -> None:
    sideways = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if {_layer(module), _layer(target)} == {"verify", "approvals"}
    ]
    assert sideways == []


def test_only_the_composition_root_imports_slack() -> None:
    offenders = []
    for module, path in _modules().items():
        if module == COMPOSITION_ROOT or _layer(module) == "surface":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in ("slack_bolt", "slack_sdk", "handlers"):
                    offenders.append(f"{module}: {name}")
    assert offenders == []
