"""``archopt.X(...)`` stays the API function after ``archopt.X``'s submodules are imported."""

import subprocess
import sys

CODE = """
import archopt
import archopt.compress.pipeline, archopt.export.metadata, archopt.report.build
import archopt.serve.app, archopt.tune.engine, archopt.search.study, archopt.explain.api
for name in ["compress", "export", "report", "serve", "tune", "search", "explain"]:
    assert callable(getattr(archopt, name)), name
archopt.tune.engine.tune = lambda *a, **k: ("forwarded", a, k)
print(archopt.tune("spec", out="d"))
"""


def test_api_functions_stay_callable_after_submodule_imports():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "('forwarded', ('spec',), {'out': 'd'})"
