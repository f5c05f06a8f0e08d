"""The import table of DESIGN.md holds: no Qt below ui, llama_cpp only in the engine, inside functions."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# layer -> top-level names it must not import
FORBIDDEN = {
    "core": {"app.engine", "app.models", "app.ui", "app.main", "PySide6", "shiboken6", "llama_cpp", "huggingface_hub",
             "mcp"},
    "engine": {"app.models", "app.ui", "app.main", "PySide6", "shiboken6", "huggingface_hub"},
    "models": {"app.engine", "app.ui", "app.main", "PySide6", "shiboken6", "llama_cpp", "mcp"},
    "ui": {"app.engine", "app.models", "app.main", "llama_cpp", "huggingface_hub", "mcp"},
    "main": {"llama_cpp", "huggingface_hub", "mcp"},  # MCP servers run only through app/engine/mcp_host.py
    # the training extra (inkling[train]): engine for its tokenizer, no Qt, llama_cpp only through the engine
    "train": {"app.models", "app.ui", "app.main", "PySide6", "shiboken6", "llama_cpp", "huggingface_hub", "mcp"},
}
TRAIN_ONLY = {"jax", "jaxlib", "optax", "gguf"}  # the extra's packages: only app/train may import them


def _layer(path: Path, root: Path = APP) -> str | None:
    rel = path.relative_to(root)
    if rel.parts[0] in FORBIDDEN:
        return rel.parts[0]
    if rel.name == "main.py":
        return "main"
    return None


def _imports(tree: ast.AST) -> list[tuple[str, bool, int]]:
    """(module, at module level?, line) for every import in a file."""
    found = []
    top = {id(n) for n in tree.body} if isinstance(tree, ast.Module) else set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, id(node) in top, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top, node.lineno))
    return found


def _violations(root: Path = APP) -> list[str]:
    bad = []
    for path in root.rglob("*.py"):
        layer = _layer(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module, top_level, line in _imports(tree):
            if layer and any(module == f or module.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(root)}:{line} ({layer}) imports {module}")
            if module.split(".")[0] == "llama_cpp" and top_level:
                bad.append(f"{path.relative_to(root)}:{line} imports llama_cpp at module level")
    return bad


def test_the_import_table_of_design_md_holds() -> None:
    assert _violations() == []


def test_only_the_training_layer_imports_the_training_extra() -> None:
    """The app runs without ``inkling[train]``: jax, optax and gguf are imported in app/train only."""
    bad = []
    for path in APP.rglob("*.py"):
        if _layer(path) == "train":
            continue
        for module, _top, line in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if module.split(".")[0] in TRAIN_ONLY:
                bad.append(f"{path.relative_to(APP)}:{line} imports {module}")
    assert bad == []


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    # a small app tree with one violation of each kind, and lawful code beside them
    files = {
        "core/bad_qt.py": "from PySide6 import QtCore\n",
        "core/bad_engine.py": "def f():\n    from app.engine.client import EngineClient\n",
        "engine/bad_llama.py": "import llama_cpp\n",
        "engine/good_llama.py": "def f():\n    import llama_cpp\n",
        "models/bad_ui.py": "import app.ui.widgets\n",
        "ui/bad_hub.py": "from huggingface_hub import HfApi\n",
        "ui/good.py": "from app.core.events import Finished\nfrom PySide6.QtCore import Qt\n",
        "main.py": "import app.engine.client\nimport app.ui.main_window\n",
    }
    for name, code in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code)
    found = sorted(v.split(":")[0] for v in _violations(tmp_path))
    assert found == ["core/bad_engine.py", "core/bad_qt.py", "engine/bad_llama.py", "models/bad_ui.py", "ui/bad_hub.py"]


def test_opening_the_window_code_does_not_import_llama_cpp() -> None:
    code = "import sys, app.main, app.ui; print('llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# Views never write storage: the sessions and stores in app/core are its only writers, and they
# announce what changed. (The chat and document lists' delete, undelete and rename-by-id moved into
# ChatSession / DocumentSession with the live-turn work; nothing is left here, and nothing may join.)
STILL_WRITTEN_BY_VIEWS: set[tuple[str, str]] = set()


def _storage_writers(storage: Path = APP / "core" / "storage.py") -> set[str]:
    """The Storage methods that write: those that open a transaction."""
    tree = ast.parse(storage.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Storage")
    return {f.name for f in cls.body if isinstance(f, ast.FunctionDef) and not f.name.startswith("_")
            and any(isinstance(n, ast.Attribute) and n.attr == "_tx" for n in ast.walk(f))}


def _storage_writes(root: Path) -> list[tuple[str, str, str]]:
    """(subpackage of ui, file:line, method) for every call ``….storage.<writer>(…)`` or ``storage.<writer>(…)``."""
    writers = _storage_writers()
    found = []
    for path in sorted((root / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in writers):
                continue
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
            if name in ("storage", "_storage", "db"):
                rel = path.relative_to(root / "ui")
                found.append((rel.parts[0] if len(rel.parts) > 1 else "", f"{path.relative_to(root)}:{node.lineno}",
                              node.func.attr))
    return found


def test_no_view_writes_storage() -> None:
    assert {"save_preset", "rename_preset", "update_conversation", "add_message"} <= _storage_writers()
    new = [(where, method) for package, where, method in _storage_writes(APP)
           if (package, method) not in STILL_WRITTEN_BY_VIEWS]
    assert new == [], f"views write storage behind the sessions and stores: {new}"


def test_the_storage_rule_catches_a_view_that_writes(tmp_path: Path) -> None:
    view = tmp_path / "ui" / "models" / "view.py"
    view.parent.mkdir(parents=True)
    view.write_text("class V:\n    def rename(self):\n        self.storage.rename_preset('a', 'b')\n"
                    "        self.storage.presets()\n")
    assert _storage_writes(tmp_path) == [("models", "ui/models/view.py:3", "rename_preset")]


def _backend_kind_checks(root: Path) -> list[str]:
    """Places in ui that tell a server's model from a local one by its name (``remote:…``) instead of asking."""
    found = []
    for path in sorted((root / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("remote:")
            helper = isinstance(node, (ast.Name, ast.Attribute, ast.alias)) and (
                getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "name", None)
            ) in ("REF_PREFIX", "parse_remote_ref")
            if literal or helper:
                found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}")
    return found


def test_the_window_asks_the_model_list_and_the_engine_what_a_model_is() -> None:
    """No "remote:" prefix tests in app/ui: the model list knows the models, the engine's capabilities where it runs."""
    assert _backend_kind_checks(APP) == []


def test_the_backend_kind_rule_catches_a_prefix_test(tmp_path: Path) -> None:
    view = tmp_path / "ui" / "v.py"
    view.parent.mkdir(parents=True)
    view.write_text("from app.core.connections import parse_remote_ref\n"
                    "def f(path):\n    return path.startswith('remote:')\n")
    assert _backend_kind_checks(tmp_path) == ["ui/v.py:1", "ui/v.py:3"]


def _engine_guesses(root: Path) -> list[str]:
    """``getattr(…)`` / ``hasattr(…)`` in ui whose object names an engine or a stream (``…engine…``, ``…stream…``).

    What the UI uses of an engine is declared in ``app/core/ports.py`` (``EnginePort``, ``StreamPort``), so it
    is read as a plain attribute: a guess with a default would hide an engine that lacks a member of the port.
    """
    found = []
    for path in sorted((root / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("getattr", "hasattr") and node.args):
                continue
            names = [n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(node.args[0])
                     if isinstance(n, (ast.Name, ast.Attribute))]
            if any("engine" in name.lower() or "stream" in name.lower() for name in names):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_ui_reads_the_engine_port_without_guessing() -> None:
    """No getattr/hasattr on engines or streams in app/ui: the port declares what they have."""
    assert _engine_guesses(APP) == []


def test_the_engine_guess_rule_catches_a_guess(tmp_path: Path) -> None:
    view = tmp_path / "ui" / "v.py"
    view.parent.mkdir(parents=True)
    view.write_text("def f(self, stream, exc, caps):\n"
                    "    n = getattr(self.bridge.engine, 'parallel_sequences', 1)\n"
                    "    if hasattr(stream, 'note'):\n        pass\n"
                    "    return getattr(exc, 'reason', ''), getattr(caps, 'scoring')\n")
    assert _engine_guesses(tmp_path) == ["ui/v.py:2", "ui/v.py:3"]


def _runtime_imports(root: Path) -> dict[str, set[str]]:
    """Module -> the app modules it imports when it runs (``if TYPE_CHECKING:`` blocks are type-only and left out)."""
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                     and "TYPE_CHECKING" in ast.unparse(block.test) for stmt in block.body for n in ast.walk(stmt)}
        deps = set()
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _import_cycles(root: Path = APP) -> list[list[str]]:
    """Every set of app modules that import each other in a ring (Tarjan's strongly connected components)."""
    graph, index, low, stack, on_stack, cycles = _runtime_imports(root), {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            ring = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                ring.append(w)
                if w == v:
                    break
            if len(ring) > 1:
                cycles.append(sorted(ring))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle_in_app() -> None:
    assert _import_cycles() == []


def test_the_cycle_rule_catches_a_ring_but_not_a_type_only_import(tmp_path: Path) -> None:
    pkg = tmp_path / "app" / "engine"
    pkg.mkdir(parents=True)
    (pkg / "client.py").write_text("from app.engine.requests import Request\n")
    (pkg / "requests.py").write_text("def f():\n    from app.engine.client import EngineClient\n")
    (pkg / "stream.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from app.engine.client import EngineClient\n")
    (pkg / "worker.py").write_text("import app.engine.stream\n")
    assert _import_cycles(tmp_path / "app") == [["app.engine.client", "app.engine.requests"]]


PANE_LINES = 420  # "no pane file over ~400 lines"


def test_no_pane_file_is_over_400_lines() -> None:
    long = {str(p.relative_to(APP)): n for p in (APP / "ui").rglob("*pane*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > PANE_LINES}
    assert long == {}


JOB_TARGET = r"\"(app(?:\.[a-z_0-9]+)+):([a-z_0-9]+)\""  # start_job("app.engine.evaluate:perplexity_job", ...)


def _job_targets(root: Path = APP) -> dict[str, str]:
    """Every "module:function" a child-process job is started with, and where it is named."""
    import re

    found = {}
    for path in root.rglob("*.py"):
        for m in re.finditer(JOB_TARGET, path.read_text(encoding="utf-8")):
            found[f"{m.group(1)}:{m.group(2)}"] = str(path.relative_to(root))
    return found


def test_every_job_target_exists_and_the_bundle_collects_its_module() -> None:
    """A job's module is imported by name in the child, which PyInstaller cannot see: the spec names it,
    or a frozen bundle's Compare / indexing dies with ModuleNotFoundError. Training is the extra, not bundled."""
    import importlib

    spec = (APP.parent / "packaging" / "inkling.spec").read_text(encoding="utf-8")
    targets = _job_targets()
    assert targets, "no job target found: the pattern no longer matches how jobs are started"
    missing = []
    for target, where in sorted(targets.items()):
        module, name = target.split(":")
        if module.startswith("app.train"):
            continue  # the training extra: the bundle says how to add it
        if not callable(getattr(importlib.import_module(module), name, None)):
            missing.append(f"{where}: {target} is not a function")
        if f'"{module}"' not in spec:
            missing.append(f"{where}: {module} is not in packaging/inkling.spec's hiddenimports")
    assert missing == []
