"""The browser's preprocessing (rnnviz/web/preprocess.js) makes of real drawings what rnnviz/preprocess.py
makes of them: the fixtures are written here by the Python, then Node's test runner checks the JS against
them (tests/web/preprocess.test.mjs)."""

import os
import shutil
import subprocess

import pytest

from tests import web_fixtures
from tests.conftest import ROOT, data_missing

NODE_TEST = ROOT / "tests" / "web" / "preprocess.test.mjs"
PEN_DIGITS = 200  # drawings of real pen digits, besides the edge cases


@pytest.mark.slow  # about 6 s, most of it the reference drawing and preprocessing the fixtures
def test_the_browser_preprocesses_drawings_exactly_as_python_does(pen_records, tmp_path):
    node = shutil.which("node") or data_missing("Node.js (apt-get install nodejs)")
    manifest = web_fixtures.write(tmp_path, pen_records, PEN_DIGITS)
    assert len(manifest["drawings"]) > PEN_DIGITS and any(drawing["error"] for drawing in manifest["drawings"])
    run = subprocess.run([node, "--test", str(NODE_TEST)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "RNNVIZ_FIXTURES": str(tmp_path)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# skipped 0" in run.stdout, run.stdout
