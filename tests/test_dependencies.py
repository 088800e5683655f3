"""What the product imports, a plain install provides: ``make demo`` installs the package without
its test extras, so a module imported only by tests' dependencies would crash the server at start
(payments/native.py once imported httpx, declared for the tests alone)."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import shangliao

SOURCE = Path(shangliao.__file__).parent


def _top_level_imports() -> dict[str, str]:
    """Each top-level module imported anywhere under src/shangliao, with one file importing it."""
    found: dict[str, str] = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(SOURCE)))
    return found


def _base_requirements() -> set[str]:
    """The distributions a plain install brings: the package's requirements without an extra."""
    names = set()
    for requirement in metadata.requires("shangliao") or []:
        if "extra ==" in requirement:
            continue
        names.add(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_every_third_party_import_is_a_base_dependency():
    # given every module the product imports, and the distributions a plain install requires
    providers = metadata.packages_distributions()
    required = _base_requirements()
    # (what those bring along themselves counts too: starlette comes with fastapi)
    for name in list(required):
        for requirement in metadata.requires(name) or []:
            if "extra ==" not in requirement:
                required.add(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-"))

    # then each import that is not the standard library's nor ours is provided by one of them
    missing = {}
    for module, where in _top_level_imports().items():
        if module in sys.stdlib_module_names or module == "shangliao":
            continue
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        if not distributions & required:
            missing[module] = where
    assert missing == {}, f"add these to [project] dependencies in pyproject.toml: {missing}"
