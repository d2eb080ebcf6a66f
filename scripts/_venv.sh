# Shared by scripts/run and scripts/test: make .venv and install a requirements file into it,
# only when the requirements changed since the last install (a stamp file holds their checksum),
# then compile the engine with mypyc when matching/ changed (ensure_engine).
# Usage: ensure_venv requirements.txt
#
# The installer is uv (from PyPI, into .venv) when it can be had: a fresh install takes about a
# third of pip's time, most of a first run (README, "First run"). INSTALLER=pip uses plain pip,
# and pip is used whenever uv cannot be installed or fails.
ensure_venv() {
    _ensure_requirements "$1" || return 1
    ensure_engine
}

# The compiled engine into build/engine/ (scripts/build_engine.py: quiet when current; never
# fails, the pure modules run instead and it says why). Skipped in a project without it.
ensure_engine() {
    if [ -f scripts/build_engine.py ]; then
        .venv/bin/python scripts/build_engine.py ||
            echo "[setup] the engine's build step failed: the pure Python engine runs" >&2
    fi
}

_ensure_requirements() {
    local requirements="$1"
    local python="${PYTHON:-}"
    if [ -z "$python" ]; then
        if command -v python3.11 >/dev/null 2>&1; then python=python3.11; else python=python3; fi
    fi
    if [ ! -x .venv/bin/python ]; then
        echo "[setup] creating .venv with $python"
        "$python" -m venv .venv || {
            echo "[setup] could not create a virtualenv: install python3-venv (apt-get install -y python3-venv)" >&2
            return 1
        }
    fi
    local sum
    sum=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
    # requirements-dev.txt includes requirements.txt: a current dev install serves a run too.
    local stamp
    for stamp in ".venv/.installed-$(basename "$requirements")" .venv/.installed-requirements-dev.txt; do
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
            return 0
        fi
    done
    echo "[setup] installing $requirements into .venv"
    _install_requirements "$requirements" || return 1
    echo "$sum" >".venv/.installed-$(basename "$requirements")"
}

UV_VERSION=0.13.9  # the installer, pinned like everything else

_install_requirements() {
    local requirements="$1"
    if [ "${INSTALLER:-uv}" = uv ]; then
        if [ -x .venv/bin/uv ] || .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" 2>/dev/null; then
            # Compiled at install, as pip does: else every service compiles its imports at its
            # first start, all at once on a first run.
            if .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -r "$requirements"; then
                return 0
            fi
        fi
        echo "[setup] uv did not install $requirements: using pip" >&2
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
}
