"""docs/architecture.md stays true: every import inside the package points to a lower layer (so none is circular)."""

import ast
import importlib.util
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nml_tutorial"
# The layers of docs/architecture.md, lowest first.
LAYERS = [
    ["config", "atomic", "runtime", "feeding", "augment", "noise", "models", "data.common", "data.classes",
     "data.styles", "stats", "prose", "viz.layout"],
    ["presets", "zoo", "cache", "data.synthetic", "data.real", "data.files", "series", "features", "results",
     "training", "viz.export", "viz.pictures"],
    ["launch", "data.captions", "data.imagenet", "data.cifar", "data.domainnet", "data.memmap", "data.label_files",
     "data.image_text", "ladder", "probe", "spectrum", "embedding", "claims", "viz.figures"],
    ["data", "clip", "nmtune", "claim_text", "viz.summary", "book"],
    ["pretrain", "tasks", "reference_runs", "slides", "viz.widgets"],
    ["evaluate", "viz"],
    ["sweep", "batch"],
    ["cli"],
    ["__main__"],
]
LAYER = {module: level for level, modules in enumerate(LAYERS) for module in modules}


def package_imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """The package modules a file imports (relative imports resolved against its own package)."""
    module = path.relative_to(root).with_suffix("").as_posix().replace("/", ".")
    package = module.rsplit(".", 1)[0] if "." in module and path.name != "__init__.py" else (
        module.removesuffix(".__init__") if path.name == "__init__.py" else "")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = package.split(".") if package else []
            base = parts[: len(parts) - (node.level - 1)]
            if node.module:
                found.add(".".join(base + [node.module]))
            else:
                found.update(".".join(base + [alias.name]) for alias in node.names)
    return {name for name in found if name in LAYER}


def test_every_module_has_a_layer_and_imports_only_from_lower_layers():
    files = {p.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__"): p
             for p in PACKAGE.rglob("*.py")}
    files.pop("__init__")  # the package's own __init__ imports nothing of its own
    assert set(files) == set(LAYER), "add new modules to docs/architecture.md and LAYERS"
    upward = [f"{module} (layer {LAYER[module]}) imports {target} (layer {LAYER[target]})"
              for module, path in files.items() for target in package_imports(path)
              if LAYER[target] >= LAYER[module]]
    assert not upward, upward


def test_configuration_is_a_leaf_and_a_preset_needs_only_the_lowest_layer():
    """config imports nothing of the package, presets only layer 0: a preset passed down never calls back up."""
    assert package_imports(PACKAGE / "config.py") == set()
    assert {LAYER[m] for m in package_imports(PACKAGE / "presets.py")} == {0}


# Test files that guard a property across modules rather than one module (what each guards: its docstring).
CROSS_CUTTING = {"architecture", "bad_inputs", "bench", "browser", "data_formats", "data_scripts", "distributed",
                 "figures_readable", "full_scale", "noise_properties", "notebooks", "reliability", "science"}


def test_each_test_file_is_named_after_the_module_it_tests_or_the_property_it_guards():
    modules = {p.relative_to(PACKAGE).with_suffix("").as_posix().removesuffix("/__init__").replace("/", "_")
               for p in PACKAGE.rglob("*.py")}
    tests = {p.stem.removeprefix("test_") for p in Path(__file__).parent.glob("test_*.py")}
    assert not tests - modules - CROSS_CUTTING, "name a test file after its module, or list it in CROSS_CUTTING"


def test_the_layer_check_sees_an_upward_import(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "io.py").write_text("from .sweep import run_sweep\n")
    (tmp_path / "data" / "real.py").write_text("from ..presets import get_preset\nfrom .common import LabeledImages\n")
    assert package_imports(tmp_path / "io.py", tmp_path) == {"sweep"}
    assert package_imports(tmp_path / "data" / "real.py", tmp_path) == {"presets", "data.common"}


def _api_index():
    spec = importlib.util.spec_from_file_location("api_index", PACKAGE.parent / "tools" / "api_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_api_index_is_computed_from_the_notebooks_as_they_are():
    api_index = _api_index()
    assert (PACKAGE.parent / "docs" / "api-index.md").read_text() == api_index.render(), \
        "regenerate it: python tools/api_index.py"
    row = "| `run_sweep` | `nml_tutorial.sweep` | 00_quickstart, 03_id_ood, 04_spectrum, 05_nmtune"
    assert row in api_index.render()


def test_no_docstring_names_its_notebook_by_hand():
    """Which notebook uses a function is computed (docs/api-index.md); a typed attribution would drift."""
    typed = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node):
                text = " ".join(ast.get_docstring(node).split())
                if re.search(r"\b[Nn]otebooks? \d\d_[a-z_]+(?:(?:,| and) \d\d_[a-z_]+)*(?:\.|\))", text):
                    typed.append(f"{path.name}: {getattr(node, 'name', 'module')}")
    assert not typed, typed
