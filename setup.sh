#!/usr/bin/env bash
# Install harmony-node into ./.venv (with the test extra) on a fresh Debian/Ubuntu machine.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "setup: Python >= 3.11 is required (found: $("$PY" --version 2>&1 || echo none)); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

# libp2p pins fastecdsa, which PyPI ships only as source: building it needs a C compiler and GMP headers.
# The explorer page's end-to-end test (tests/e2e/test_explorer_page.py) runs Debian's chromium headless.
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(build-essential)
[ -e /usr/include/gmp.h ] || [ -e /usr/include/x86_64-linux-gnu/gmp.h ] || [ -e /usr/include/aarch64-linux-gnu/gmp.h ] || missing+=(libgmp-dev)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${missing[*]} (to build fastecdsa for libp2p; chromium for the explorer test)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "setup: missing system packages: ${missing[*]}" >&2
        echo "       install them first, e.g.: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "setup: done. Try: .venv/bin/hmy-node --help   Tests: .venv/bin/pytest"
