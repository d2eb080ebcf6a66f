"""Which build of the engine a process runs: compiled with mypyc, or the pure Python modules.

``scripts/build_engine.py`` (run by ``./scripts/run`` and ``./scripts/test``) compiles the
modules named in ``COMPILED_MODULES`` from this very source into ``build/engine/<key>/``, outside
the source tree: ``matching/<module>.<ext>`` shims plus one shared library ``<hash>__mypyc.<ext>``.
``<key>`` hashes every ``matching/*.py`` and the interpreter's extension suffix, so a build
exists only for the sources it was made from: after any edit it is simply not found (and the
pure modules run) until the next build. ``commands``, ``events``, ``codec`` and the rest stay
interpreted: mypyc would rewrite the NamedTuple annotations the codec reads.

``matching/__init__.py`` calls ``activate`` before any engine module is imported. The switch is
the environment variable ``ENGINE_BUILD`` (read here, once, at import; the only environment the
core reads):

- ``auto`` (the default): the compiled build when one of these sources exists, else pure;
- ``pure``: the ``.py`` modules always (debugging, and the second pass of the engine tests);
- ``compiled``: the compiled build, or ``ImportError`` (tests that must run it).

``loaded_build()`` says what was actually imported (from ``matching.engine.__file__``), and
``build_note()`` says it in one line, with why pure when it is.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path

COMPILED_MODULES = (
    "arith",
    "emit",
    "emit_conditional",
    "book",
    "balances",
    "state",
    "orders",
    "fills",
    "cancels",
    "amends",
    "iceberg",
    "expiry",
    "untriggered",
    "conditional",
    "order_lists",
    "triggers",
    "validate_conditional",
    "transfers",
    "markets",
    "engine",
)
MODES = ("auto", "pure", "compiled")
PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_ROOT = PACKAGE_DIR.parent / "build" / "engine"
STAMP = "STAMP.json"  # written last by the build: a key directory without it is not a build
FAILED = "FAILED.json"  # the last build's failure: {"key", "kind": "toolchain" | "error", "reason"}
EXT_SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]  # ".cpython-311-x86_64-linux-gnu.so"

_why_pure = "matching was not imported through its package"


def source_key() -> str:
    """The build key: a hash of every ``matching/*.py`` and of the extension suffix."""
    digest = hashlib.sha256(EXT_SUFFIX.encode())
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def build_dir(key: str) -> Path:
    return BUILD_ROOT / key


def failure(key: str) -> dict[str, str] | None:
    """The recorded failure of the build of ``key``, if its last build failed."""
    try:
        note = json.loads((BUILD_ROOT / FAILED).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or note.get("key") != key:
        return None
    return {str(k): str(v) for k, v in note.items()}


def activate(package_path: list[str]) -> None:
    """Put the compiled modules first on ``matching.__path__`` when the switch allows it and a
    build of the current sources exists; else leave the pure modules and record why."""
    global _why_pure
    mode = os.environ.get("ENGINE_BUILD", "").strip().lower() or "auto"
    if mode not in MODES:
        raise ImportError(f"ENGINE_BUILD={mode!r}: expected one of {', '.join(MODES)}")
    if mode == "pure":
        _why_pure = "ENGINE_BUILD=pure"
        return
    key = source_key()
    built = build_dir(key)
    if not (built / STAMP).is_file():
        failed = failure(key)
        if failed is not None:
            _why_pure = f"not compiled: {failed['reason']}"
        else:
            _why_pure = (
                "not compiled for these sources (scripts/build_engine.py compiles them; "
                "./scripts/run and ./scripts/test run it)"
            )
        if mode == "compiled":
            raise ImportError(f"ENGINE_BUILD=compiled, but the engine is {_why_pure}")
        return
    _load_shared_library(built)
    package_path.insert(0, str(built / "matching"))
    _why_pure = ""


def _load_shared_library(built: Path) -> None:
    """Import mypyc's ``<hash>__mypyc`` library by its path: every shim imports it by that
    top-level name, and this way ``sys.path`` stays as it was."""
    (library,) = built.glob(f"*__mypyc{EXT_SUFFIX}")
    name = library.name.split(".")[0]
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, library)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the compiled engine's library {library}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def loaded_build() -> str:
    """``"compiled"`` or ``"pure"``: what ``matching.engine`` was actually imported from."""
    from matching import engine

    return "compiled" if engine.__file__.endswith(EXT_SUFFIX) else "pure"


def build_note() -> str:
    """One line for a log or the run command: which build runs, and why pure if it is."""
    if loaded_build() == "compiled":
        from matching import engine

        where = Path(engine.__file__).parent.parent
        try:
            where = where.relative_to(Path.cwd())
        except ValueError:
            pass
        return f"engine: compiled with mypyc ({where})"
    return f"engine: pure Python ({_why_pure or 'the compiled modules were not imported'})"
