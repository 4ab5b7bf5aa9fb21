"""The layers stay apart, as the README's layout table says: the compute core (rnnviz/ and rnnviz/data/)
imports neither figures nor serving, figures import no serving, nothing in rnnviz/ imports streamlit;
the folder stays small enough to see, and its functions short enough to read. Every session-state key
and every label that links tabs is spelled once, in ui/state.py (the rest of the page and the tests
name them from there)."""

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from ui.state import Chart, InsightView, Key, Source, Tab

PACKAGE = ROOT / "rnnviz"
MAX_TOP_LEVEL_MODULES = 20  # rnnviz/*.py, __init__.py included
MAX_FUNCTION_LINES = 60  # in rnnviz/, ui/ and app.py, docstring and all


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The modules `path` imports (relative imports resolved), at any depth: inside functions too."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # `from . import store` names a module
    return found


def layer(module: str) -> str:
    """core (rnnviz's top level and data/), figures, serving, or outside."""
    parts = module.split(".")
    if parts[0] != "rnnviz":
        return "outside"
    return {"figures": "figures", "serving": "serving"}.get(parts[1] if len(parts) > 1 else "", "core")


MAY_NOT_IMPORT = {"core": {"figures", "serving"}, "figures": {"serving"}, "serving": {"figures"}}


def test_each_layer_imports_only_what_is_below_it():
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = layer(module_name(path))
        for name in imported(path):
            if name.split(".")[0] == "streamlit":
                crossings.append(f"{path.relative_to(ROOT)} imports {name}")
            elif layer(name) in MAY_NOT_IMPORT[own]:
                crossings.append(f"{path.relative_to(ROOT)} ({own}) imports {name} ({layer(name)})")
    assert not crossings, "\n".join(crossings)


def test_the_layer_check_sees_relative_imports_inside_functions():
    module = PACKAGE / "data" / "gallery.py"
    assert "rnnviz.checkpoint" in imported(module)  # imported inside main()
    assert layer("rnnviz.data.gallery") == "core" and layer("rnnviz.serving.store") == "serving"


def test_the_package_shows_its_architecture_in_few_modules():
    top_level = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level
    assert {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()} == {
        "data", "figures", "serving"}


def test_no_function_is_too_long_to_read():
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "app.py"]
    long = [f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in files for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, "\n".join(long)


def js_functions(code: str) -> list[tuple[str, int, int]]:
    """(name, first line, lines) of each top-level function of a browser module (its body: up to the brace
    that closes it, at the start of a line)."""
    lines, found = code.splitlines(), []
    for number, line in enumerate(lines):
        if match := re.match(r"(?:export )?(?:default )?function (\w+)", line):
            end = next(i for i in range(number, len(lines)) if lines[i] == "}")
            found.append((match[1], number + 1, end - number + 1))
    return found


def test_the_browser_code_has_no_function_over_60_lines():
    long = [f"rnnviz/web/{path.name}:{first} {name} ({count} lines)" for path in sorted((PACKAGE / "web").glob("*.js"))
            for name, first, count in js_functions(path.read_text()) if count > MAX_FUNCTION_LINES]
    assert not long, "\n".join(long)
    sample = "function a() {\n  if (x) {\n  }\n}\nexport default function b(c) {\n}\n"
    assert js_functions(sample) == [("a", 1, 4), ("b", 5, 2)]  # the scan finds what it measures


IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import rnnviz
modules = [m.name for m in pkgutil.walk_packages(rnnviz.__path__, "rnnviz.")]
for name in modules:
    importlib.import_module(name)
print(len(modules), sorted(m for m in sys.modules if m.split(".")[0] == "streamlit"))
"""


@pytest.mark.slow
def test_the_compute_core_never_imports_streamlit():
    """Importing every module of rnnviz, in a fresh interpreter, leaves streamlit unloaded."""
    run = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    count, streamlit_modules = run.stdout.split(maxsplit=1)
    assert int(count) >= len([path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"])  # every one
    assert streamlit_modules.strip() == "[]"


LABELS = {member.value: f"{enum.__name__}.{member.name}" for enum in (Tab, Source, InsightView) for member in enum}
KEYS = {member.value: f"{enum.__name__}.{member.name}" for enum in (Key, Chart) for member in enum}
KEY_PARAMETERS = {"key", "tab", "source", "view", "chart"}  # a function's parameter that takes a key or label
APP_TEST_ELEMENTS = {  # AppTest looks elements up by key: at.button("start-training")
    "button", "checkbox", "color_picker", "date_input", "multiselect", "number_input", "radio", "select_slider",
    "selectbox", "slider", "tabs", "text_area", "text_input", "time_input", "toggle", "chat_input",
}
STATE_METHODS = {"get", "pop", "setdefault", "__getitem__", "__setitem__", "__delitem__", "__contains__"}


def _is_session_state(node) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "session_state") or (
        isinstance(node, ast.Name) and node.id == "session_state")


def _strings(node):
    """The string constants of a constant, or of a tuple, list or set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for element in node.elts:
            yield from _strings(element)


def spelled_out(source: str, in_tests: bool = True, parameters: dict[str, list[str]] | None = None):
    """(line, value, what it is) for each key or label of ui.state written as a literal string where it
    is used as one. Labels (tab, source and view names) count wherever a string equals one; keys only in
    a key's role: `key=...`, a session_state subscript, get, pop, `in` or update({...}), an AppTest
    lookup (tests only), an argument to a parameter named key/tab/source/view/chart, a `*_KEY` constant.
    `parameters`: function name -> its parameter names, for calls to functions defined elsewhere."""
    tree = ast.parse(source)
    parameters = {**(parameters or {}), **defined_parameters(tree)}
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    found = set()

    def key_role(node):
        for constant in _strings(node):
            if constant.value in KEYS:
                found.add((constant.lineno, constant.value, KEYS[constant.value]))

    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in LABELS:
            if id(node) not in docstrings:
                found.add((node.lineno, node.value, LABELS[node.value]))
        elif isinstance(node, ast.Subscript) and _is_session_state(node.value):
            key_role(node.slice)
        elif isinstance(node, ast.Compare) and any(_is_session_state(c) for c in node.comparators):
            key_role(node.left)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.upper().endswith("KEY") for t in node.targets):
            key_role(node.value)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in KEY_PARAMETERS:
                    key_role(keyword.value)
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if isinstance(func, ast.Attribute) and _is_session_state(func.value):
                if func.attr in STATE_METHODS and node.args:
                    key_role(node.args[0])
                if func.attr == "update":
                    for argument in node.args:
                        if isinstance(argument, ast.Dict):
                            for key in argument.keys:
                                if key is not None:
                                    key_role(key)
            elif in_tests and isinstance(func, ast.Attribute) and name in APP_TEST_ELEMENTS and node.args:
                key_role(node.args[0])
            elif name in parameters:
                for argument, parameter in zip(node.args, parameters[name], strict=False):
                    if parameter in KEY_PARAMETERS:
                        key_role(argument)
    return sorted(found)


def defined_parameters(tree) -> dict[str, list[str]]:
    """Function name -> its positional parameter names (without self), for the functions `tree` defines."""
    return {node.name: [a.arg for a in node.args.posonlyargs + node.args.args if a.arg != "self"]
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


SPELLED_OUT = '''
CANVAS_KEY = "canvas"
def chart_spec(at, key): ...
st.selectbox("Model", models, key="model")
st.session_state["tab"] = Tab.TRAIN
at.session_state.get("source")
if "visitor" in st.session_state: pass
st.session_state.update({"unit": 3, Key.TAB: Tab.INSPECT})
at.button("start-training").click()
chart_spec(at, "compare-figure")
open_tab(page, "Compare")
assert {"Inspect", "Train"} <= set(names)
if source == "Test set": pass
'''
NAMED_FROM_STATE = '''
"""A docstring may say: Train"""
st.session_state[Key.TAB] = Tab.TRAIN
st.button("Clear", key=Key.CLEAR)
row = table.iloc[0]; row["unit"]; "unit" in table
fig.add_scatter(y=[1], name="model")
st_canvas(initial_drawing={"objects": [], "clears": 0})
page.get_by_role("tab")
pytest.mark.parametrize("canvas", [280, 600])
st.info("Train a new model on MNIST")
'''


def test_the_scan_finds_keys_and_labels_spelled_out_and_nothing_else():
    """The scan below is only as good as this: every line of SPELLED_OUT is a hit, none of NAMED_FROM_STATE."""
    hits = spelled_out(SPELLED_OUT)
    assert {line for line, _, _ in hits} == set(range(2, 14)) - {3}
    assert {value for _, value, _ in hits} == {Key.CANVAS, Key.MODEL, Key.TAB, Key.SOURCE, Key.VISITOR, Key.UNIT,
                                               Key.START_TRAINING, Chart.COMPARE, Tab.COMPARE, Tab.INSPECT,
                                               Tab.TRAIN, Source.TEST_SET}
    assert spelled_out(NAMED_FROM_STATE) == []
    assert spelled_out('at.button("start-training")', in_tests=False) == []  # st.button's first argument is a label


def test_keys_and_labels_are_spelled_only_in_ui_state():
    """ui/*.py, app.py and tests/*.py name every session-state key, tab, source, view and chart from ui.state."""
    files = sorted({*(ROOT / "ui").glob("*.py"), ROOT / "app.py", *(ROOT / "tests").glob("*.py")}
                   - {ROOT / "ui" / "state.py"})
    trees = {path: ast.parse(path.read_text()) for path in files}
    parameters = {name: names for tree in trees.values() for name, names in defined_parameters(tree).items()}
    hits = [f"{path.relative_to(ROOT)}:{line}: {value!r} is {name}"
            for path in files
            for line, value, name in spelled_out(path.read_text(), path.parent.name == "tests", parameters)]
    assert not hits, "spelled out instead of named from ui.state:\n" + "\n".join(hits)


def project_modules() -> dict[str, Path]:
    """Every Python module of the project (the package, the page, tests, benchmarks, docs) by name."""
    paths = [*ROOT.glob("*.py"), *(path for folder in ("rnnviz", "ui", "tests", "bench", "docs", "tools")
                                    for path in (ROOT / folder).rglob("*.py"))]
    return {module_name(path): path for path in paths}


def import_graph() -> dict[str, set[str]]:
    """module -> the project's modules it imports, at any depth (a package's own parents, loaded before it
    anyway, left out)."""
    modules = project_modules()
    return {name: {other for other in imported(path) if other in modules and other != name
                   and not name.startswith(f"{other}.")}
            for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of `graph`, one path each (depth first, from every module)."""
    found, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            found.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for other in sorted(graph.get(module, ())):
            visit(other, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def test_no_module_imports_itself_round_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]  # the check sees one
    assert not circles(import_graph())


def test_nothing_outside_the_tests_imports_them():
    graph = import_graph()
    assert not [f"{name} imports {other}" for name, others in graph.items() if not name.startswith("tests")
                for other in others if other.startswith("tests")]


def test_no_module_name_is_both_in_the_package_and_in_the_page():
    names = {folder: {path.stem for path in (ROOT / folder).rglob("*.py") if path.stem != "__init__"}
             | {path.name for path in (ROOT / folder).rglob("*") if path.is_dir() and path.name != "__pycache__"}
             for folder in ("rnnviz", "ui")}
    assert not names["rnnviz"] & names["ui"]


@pytest.mark.slow
def test_the_package_builds_a_wheel_with_its_browser_code_and_the_rnnviz_command(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    [wheel] = tmp_path.glob("rnnviz-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "rnnviz/checkpoint.py" in names and "rnnviz/web/draw.js" in names and "rnnviz/web/views.css" in names
    assert not [name for name in names if name.startswith(("ui/", "tests/", "tools/", "bench/"))]
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "rnnviz = rnnviz.cli:main" in entry_points
