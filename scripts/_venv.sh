# Shared by scripts/run and scripts/test: make .venv and install a requirements file into it,
# only when the file changed since the last install (a stamp file holds its checksum).
# Usage: ensure_venv requirements.txt
ensure_venv() {
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
    local stamp=".venv/.installed-$(basename "$requirements")"
    local sum
    sum=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
        echo "[setup] installing $requirements into .venv"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
        echo "$sum" >"$stamp"
    fi
}
