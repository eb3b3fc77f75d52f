# Sourced by the other scripts: make sure uv is there and the environment is in sync.
# Works on a fresh machine that has only python3 (>= 3.11) and pip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV_VERSION="0.13.9"
if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "installing uv ${UV_VERSION} (one-time)..." >&2
    python3 -m pip install --quiet --disable-pip-version-check --user "uv==${UV_VERSION}" 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
fi
uv() { python3 -m uv "$@"; }
uv sync --frozen --quiet
