"""The layering rules of ../shared/DESIGN.md that a source scan can check."""

import ast
from pathlib import Path

import gkeras

PACKAGE = Path(gkeras.__file__).parent


def _imported_modules(tree):
    """Every module name a file imports: import statements and `import_module("...")` /
    `cupy_module("...")` calls with a literal name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"):
            yield node.args[0].value


def test_only_the_backend_package_imports_cupy():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "backend":
            continue
        names = _imported_modules(ast.parse(path.read_text(), str(path)))
        offenders += [f"{relative}: {name}" for name in names
                      if name == "cupy" or name.startswith("cupy.")]
    assert not offenders, offenders


def test_the_scan_sees_cupy_imports_in_all_their_forms():
    source = ("import cupy\nfrom cupy.cuda import nccl\nimport importlib\n"
              "importlib.import_module('cupy.cuda.nccl')\n")
    assert list(_imported_modules(ast.parse(source))) == [
        "cupy", "cupy.cuda", "importlib", "cupy.cuda.nccl"]
