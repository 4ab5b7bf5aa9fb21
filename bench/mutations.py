"""Mutation testing of the safety checks: how many small changes to each check (a limit off by one, `<` made
`<=`, `or` made `and`, a refusal's condition dropped) its tests notice; a surviving mutant is a change to a
safety check that no test sees. Each survivor is listed below, with why no test can see it (an equivalent
mutant) or marked not explained yet. On this machine a target takes minutes (the seconds below: the link
codec 1 to 3 min, admission 10 to 18 min, the lease 7 min, the Redis tests most of it): too slow for CI, so
run it before a release, and after changing a target's code. It uses mutmut 3, which ran here as it is: it
runs each mutant only on the tests that ran its function in a clean run, forks instead of importing torch
again per mutant, and mutates a copy of the code, so the working tree is never touched (cosmic-ray rewrites
the files in place while it runs, and runs the whole test command per mutant).

    python -m bench.mutations                        # every target below
    python -m bench.mutations --module address       # one target
    python -m bench.mutations --module preprocess --list   # its mutants per function, nothing run

Each target runs in a folder of its own, mutants/NAME/ (git-ignored; the working tree is never written):
links to the code, a setup.cfg written from TARGETS, and mutmut's mutated copy in mutants/NAME/mutants/.
`cd mutants/NAME && mutmut show MUTANT` shows a mutant again. Each mutant runs, one at a time and niced, the
tests of its target that ran its function in a clean run, with `-x -q -p no:cacheprovider`, and is stopped
as timed out after its tests' clean time plus the target's timeout_s.
"""

import argparse
import ast
import configparser
import contextlib
import fnmatch
import json
import shlex
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.report import RESULTS, save, target

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "mutants"  # one folder per target (git-ignored)
LINKED = ("rnnviz", "ui", "tests", "tools", "models", "app.py", "pytest.ini", ".streamlit")  # what the tests need
SHARED = ROOT.parent / "shared"  # tests/conftest.py finds MNIST and the pen digits beside the code
SURVIVED = ("survived", "no tests")  # mutmut's verdicts where no test failed
ATTACKS = "tests/test_attacks.py::test_"


@dataclass(frozen=True)
class Target:
    """Code whose mutants are run, and the tests expected to notice them."""

    sources: dict[str, tuple[str, ...]]  # file -> the functions mutated ("Class.method"); () for all of it
    tests: tuple[str, ...]  # pytest's arguments selecting the test set
    timeout_s: float  # per mutant, beyond its tests' time in the clean run (fixtures' set-up is not in that)


TARGETS = {
    "checkpoint": Target(
        {"rnnviz/checkpoint.py": ("_name", "_no_repeats", "_parse_json", "_read_header", "_check_nesting",
                                  "_read_record", "_weights_length", "_open", "read_checkpoint",
                                  "load_model")},  # reading: not convert, for the user's own trusted files
        ("tests/test_checkpoint.py", "tests/test_store.py",
         f"{ATTACKS}pinned_mutations_of_a_real_checkpoint_are_refused_in_one_line", "-m", "not slow"), 60),
    "address": Target({"ui/address.py": ()}, ("tests/test_address.py",), 30),
    "preprocess": Target(
        {"rnnviz/preprocess.py": ("decode_drawing",)},
        ("tests/test_preprocess.py", f"{ATTACKS}a_drawing_larger_than_a_canvas_sends_is_refused_from_its_header",
         f"{ATTACKS}fuzzed_canvas_values_give_an_image_or_one_message"), 60),
    "admission": Target(
        {"rnnviz/serving/admission.py": (), "rnnviz/serving/redis_queue.py": ("RedisQueue._admit",)},
        ("tests/test_admission.py", "tests/test_local_queue.py", "tests/test_redis_queue.py",
         f"{ATTACKS}one_visitor_cannot_hold_two_trainings_even_from_two_tabs_at_once",
         f"{ATTACKS}one_address_cannot_fill_the_queue_with_fresh_ids",
         f"{ATTACKS}a_training_longer_than_the_budget_is_refused_before_it_starts"), 180),
    "lease": Target(
        {"rnnviz/serving/redis_queue.py": ("RedisQueue._known", "RedisQueue._requeue_if_lost")},
        ("tests/test_redis_queue.py",), 180),
}  # The page's own tests (AppTest) are left out: in mutmut's copy of the code Streamlit cannot find the views'
# files. mutmut skips decorated functions (admitting, RedisQueue._held), and cannot tell which test ran a function
# in another process (run_job and Lease.run, in the workers): those are left out.

# Survivors no test can tell from the code: (file, function, the line as mutated) -> why.
NEVER_SHOWN = "the message is never shown: from_query names the ignored value in its own words"
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("ui/address.py", "_models", "if not 1 <= len(models) < MAX_MODELS or len(set(models)) < len(models) or "
     "set(models) - set(CELL_TYPES):"): "there are 3 cell types, so no list of distinct shipped models is 4 long",
    ("ui/address.py", "decode_digit", 'packed = base64.urlsafe_b64decode(text + "=" * (+len(text) % 4))'):
        "Python's base64 decoder ignores surplus padding, and a length of 4n+1 is refused either way",
    ("ui/address.py", "encode_digit", 'return base64.urlsafe_b64encode(zlib.compress(levels.tobytes(), ))'
     '.decode().rstrip("=")'): "zlib's default level decodes the same; links stay within the budget the tests check",
    **{("ui/address.py", "decode_digit", f"raise ValueError({message}){tail}"): NEVER_SHOWN
       for message, tail in [("None", " from error"), ('"XXnot an encoded digitXX"', " from error"),
                             ('"NOT AN ENCODED DIGIT"', " from error"), ("None", ""),
                             ('"XXnot a 28 x 28 imageXX"', ""), ('"NOT A 28 X 28 IMAGE"', "")]},
    **{("rnnviz/checkpoint.py", "_no_repeats", f"raise ValueError({message})"):
       "the message is never shown: _parse_json refuses the file in its own words"
       for message in ("None", '"XXrepeated nameXX"', '"REPEATED NAME"')},
    ("rnnviz/checkpoint.py", "read_checkpoint",
     'why = "cut off" if len(weights) <= length else "longer than its header says"'):
        "the line runs only when len(weights) != length, where <= and < agree",
    **{("rnnviz/serving/admission.py", "_live_dir", f'return store.store_dir() / "{name}"'):
       "the folder's name is spelled only here: every marker is written, listed and dropped through _live_dir"
       for name in ("XXliveXX", "LIVE")},
    ("rnnviz/serving/redis_queue.py", "RedisQueue._requeue_if_lost",
     'visitor, _, job_id = job_ref.rpartition("/")'): "a job's ref holds one slash (visitor ids and job ids have none)",
    ("rnnviz/serving/admission.py", "address_key", 'return hashlib.sha256(f"rnnviz {address}".encode())'
     '.hexdigest()[:17]'): "a digest is only ever compared with digests this same function made",
    ("rnnviz/serving/admission.py", "live_trainings", "status = read_status(visitor, job_id) if "
     "(store.is_visitor_id(visitor)) or True else None"):
        "read_status refuses a name that is not a visitor id itself (visitor_dir raises, read as None)",
    **{("rnnviz/serving/redis_queue.py", "RedisQueue._admit", line): "status_of reads no job from a ref that is not "
       "VISITOR/JOB, so the placeholder drops out of the live trainings either way"
       for line in ('refs = {pipe.get(visitor) or "XXXX", *pipe.smembers(network)} - {"", ref(status)}',
                    'refs = {pipe.get(visitor) or "", *pipe.smembers(network)} - {"XXXX", ref(status)}')},
}


def module_of(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".")


def mutant_patterns(target: Target) -> list[str]:
    """The target's mutants as patterns of mutmut's names: module.x_function__mutmut_N for a function,
    module.xǁClassǁmethod__mutmut_N for a method."""
    patterns = []
    for source, functions in target.sources.items():
        for function in functions or ("*",):
            owner, _, name = function.rpartition(".")
            mangled = "*" if name == "*" else f"xǁ{owner}ǁ{name}__mutmut_*" if owner else f"x_{name}__mutmut_*"
            patterns.append(f"{module_of(source)}.{mangled}")
    return patterns


def setup_list(values) -> str:
    """A list as mutmut reads it from setup.cfg: one value a line."""
    return "".join(f"\n{value}" for value in values)


def prepare(name: str, target: Target) -> Path:
    """A fresh folder for mutmut: links to the code (and to the data beside it), and its setup.cfg."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for entry in LINKED:
        (folder / entry).symlink_to(ROOT / entry)
    if SHARED.is_dir():
        (folder / "shared").symlink_to(SHARED)  # tests/conftest.py looks beside mutmut's copy of the code
    config = configparser.ConfigParser()
    config["mutmut"] = {
        "source_paths": setup_list(["rnnviz", "ui"]), "only_mutate": setup_list(target.sources),
        "also_copy": setup_list(entry for entry in LINKED if entry not in ("rnnviz", "ui", "tests")),
        "pytest_add_cli_args": setup_list(["-p", "no:cacheprovider"]),  # mutmut adds -x -q itself
        "pytest_add_cli_args_test_selection": setup_list(target.tests),
        "timeout_multiplier": "1", "timeout_constant": str(target.timeout_s), "use_git_change_detection": "false",
    }
    with open(folder / "setup.cfg", "w") as file:
        config.write(file)
    return folder


def run_mutmut(name: str, target: Target) -> Path:
    """Run the target's mutants (one at a time, niced); its folder, where mutmut left its verdicts."""
    folder = prepare(name, target)
    command = ["nice", "-n", "15", shutil.which("mutmut"), "run", "--max-children", "1", *mutant_patterns(target)]
    with open(folder / "mutmut.log", "w") as log:
        done = subprocess.run(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise SystemExit(f"{name}: mutmut failed (exit {done.returncode}); its output: {folder / 'mutmut.log'}")
    return folder


def verdicts(folder: Path, target: Target) -> dict[str, str]:
    """mutmut's verdict on each of the target's mutants ("killed", "survived", "timeout", "no tests"...)."""
    from mutmut.stats import status_by_exit_code

    patterns = mutant_patterns(target)
    found = {}
    for source in target.sources:
        meta = json.loads((folder / "mutants" / f"{source}.meta").read_text())
        found |= {mutant: status_by_exit_code[code] for mutant, code in meta["exit_code_by_key"].items()
                  if any(fnmatch.fnmatchcase(mutant, pattern) for pattern in patterns)}
    return found


def function_of(mutant: str) -> str:
    """The function a mutant changes, as "function" or "Class.method"."""
    mangled = mutant.partition("__mutmut_")[0].rpartition(".")[2]
    return ".".join(mangled.split("ǁ")[1:]) if mangled.startswith("xǁ") else mangled.removeprefix("x_")


def changed_line(source: Path, function: str, removed: str) -> int:
    """Where in `source` the `removed` line of `function` is (its first line if it is not found)."""
    tree, lines = ast.parse(source.read_text()), source.read_text().splitlines()
    owner, _, name = function.rpartition(".")
    scope = next((node.body for node in tree.body if isinstance(node, ast.ClassDef) and node.name == owner),
                 tree.body)
    node = next(node for node in scope if isinstance(node, ast.FunctionDef) and node.name == name)
    span = range(node.lineno, node.end_lineno + 1)
    return next((number for number in span if lines[number - 1].strip() == removed), node.lineno)


def survivor(folder: Path, target: Target, mutant: str, status: str) -> dict:
    """A surviving mutant: where it is, and its diff (from `mutmut show`)."""
    shown = subprocess.run([shutil.which("mutmut"), "show", mutant], cwd=folder, capture_output=True, text=True,
                           check=True).stdout
    diff = [line for line in shown.splitlines() if line[:1] in "-+ @" and line[:3] not in ("---", "+++")]
    removed, mutated = (next((line[1:].strip() for line in diff if line.startswith(sign)), "") for sign in "-+")
    source = next(source for source in target.sources if mutant.startswith(module_of(source) + "."))
    function = function_of(mutant)
    line = changed_line(ROOT / source, function, removed)
    return {"mutant": mutant, "status": status, "location": f"{source}:{line}", "function": function,
            "mutated": mutated, "diff": "\n".join(diff)}


def explain(survivors: list[dict]) -> None:
    """Set each survivor's "why" from EQUIVALENT (None where it is not there)."""
    for one in survivors:
        one["why"] = EQUIVALENT.get((one["location"].partition(":")[0], one["function"], one["mutated"]))


def measure(name: str, target: Target) -> dict:
    """Run a target's mutants; how many there were, what became of them, and each survivor."""
    started = time.perf_counter()
    folder = run_mutmut(name, target)
    seconds = time.perf_counter() - started
    found = verdicts(folder, target)
    counts = {status: list(found.values()).count(status) for status in sorted(set(found.values()))}
    survivors = [survivor(folder, target, mutant, status) for mutant, status in sorted(found.items())
                 if status in SURVIVED]
    code = [f"{source}: {', '.join(functions) or 'all'}" for source, functions in target.sources.items()]
    return {"code": "; ".join(code),
            "tests": shlex.join(target.tests), "mutants": len(found), "killed": counts.pop("killed", 0),
            "survived": len(survivors), "timed_out": counts.pop("timeout", 0),
            "other": {status: count for status, count in counts.items() if status not in SURVIVED},
            "seconds": round(seconds), "survivors": survivors}


def no_longer_surviving(result: dict, before: dict) -> list[dict]:
    """The survivors of the target's run before (its `before` result) that this run's tests killed."""
    now = {(one["location"], one["mutated"]) for one in result["survivors"]}
    return [one for one in before.get("survivors", []) if (one["location"], one["mutated"]) not in now]


def notes(results: dict) -> list[str]:
    """For the page: one line per survivor, and per survivor of the run before that survives no more."""
    lines = []
    for name, result in sorted(results.items()):
        for one in result["survivors"]:
            why = f"equivalent: {one['why']}" if one["why"] else "**not explained yet**"
            lines.append(f"{name}: `{one['location']}` ({one['function']}) `{one['mutated']}`: {why}")
        lines += [f"{name}: `{one['location']}` ({one['function']}) `{one['mutated']}`: survived the run before, "
                  "killed now" for one in result.get("killed_since_the_run_before", [])]
    return lines


def list_mutants(name: str, target: Target) -> None:
    """Print how many mutants each function of the target has, without running any."""
    from mutmut.mutation.file_mutation import mutate_file_contents

    patterns = mutant_patterns(target)
    with contextlib.chdir(prepare(name, target)):  # mutmut reads its setup.cfg from there
        for source in target.sources:
            names = [f"{module_of(source)}.{mutant}" for mutant in
                     mutate_file_contents(source, (ROOT / source).read_text()).mutant_names]
            per_function = Counter(function_of(mutant) for mutant in names
                                   if any(fnmatch.fnmatchcase(mutant, pattern) for pattern in patterns))
            print(f"{name}: {source}: {sum(per_function.values())} mutants")
            for function, count in sorted(per_function.items()):
                print(f"    {count:4d}  {function}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", choices=sorted(TARGETS), help="one target (default: all)")
    parser.add_argument("--list", action="store_true",
                        help="list the mutants per function, run nothing (replaces mutants/NAME)")
    args = parser.parse_args()
    if shutil.which("mutmut") is None:
        raise SystemExit("mutmut is not installed: pip install -r requirements-dev.txt")
    chosen = [args.module] if args.module else sorted(TARGETS)
    if args.list:
        for name in chosen:
            list_mutants(name, TARGETS[name])
        return
    measured = {name: measure(name, TARGETS[name]) for name in chosen}
    path = RESULTS / "mutations.json"
    results = json.loads(path.read_text())["results"] if path.exists() else {}  # the other targets' last runs
    for name, result in measured.items():
        result["killed_since_the_run_before"] = no_longer_surviving(result, results.get(name, {}))
        print(f"{name}: {result['mutants']} mutants, {result['killed']} killed, {result['survived']} survived, "
              f"{result['timed_out']} timed out, {result['seconds']} s")
        results[name] = result
    for result in results.values():  # every target's, so an explanation added since its run shows too
        explain(result["survivors"])
    checks = [target(f"{name}: survivors not explained", sum(not one["why"] for one in result["survivors"]), 1)
              for name, result in sorted(results.items())]
    save("mutations", {"targets": checks, "results": results, "notes": notes(results)})


if __name__ == "__main__":
    main()
