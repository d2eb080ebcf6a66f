# Shared by scripts/run and scripts/test: the web UI's third-party browser code, pinned by
# package.json + package-lock.json. `npm ci` runs only when the lockfile changed since the last
# install (a stamp file holds its checksum); the files the pages load are then copied into
# static/vendor/ (git-ignored, served like the other static files). None of it is committed.
# Usage: ensure_vendor
VENDOR_FILES=(  # node_modules/<source>:static/vendor/<target>
    "lightweight-charts/dist/lightweight-charts.standalone.production.mjs:lightweight-charts.mjs"
    "lightweight-charts/LICENSE:lightweight-charts.LICENSE.txt"
)

_vendor_sources_present() {
    local pair
    for pair in "${VENDOR_FILES[@]}"; do
        [ -f "node_modules/${pair%%:*}" ] || return 1
    done
}

ensure_vendor() {
    local stamp="node_modules/.installed-lock" sum pair source target
    sum=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ] || ! _vendor_sources_present; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "[setup] npm is missing: cannot install the web UI's chart library" \
                "(package.json); the trade page will show no chart." >&2
            echo "[setup] Install Node.js 18+ with npm (apt-get install -y nodejs npm)" \
                "and run this command again." >&2
            return 0
        fi
        echo "[setup] installing the web UI's browser packages (npm ci)"
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null || {
            echo "[setup] npm ci failed (is the npm registry reachable?)" >&2
            return 1
        }
        echo "$sum" >"$stamp"
    fi
    mkdir -p static/vendor
    for pair in "${VENDOR_FILES[@]}"; do
        source="node_modules/${pair%%:*}" target="static/vendor/${pair##*:}"
        cmp -s "$source" "$target" || cp "$source" "$target"
    done
}
