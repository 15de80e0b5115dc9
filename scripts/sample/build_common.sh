# The start shared by build_sample.sh and build_pytorch_sample.sh; they source it, then run their steps:
#   run_python "title" scripts/sample/script.py [args...]   (or: step "title"; any command)
#   rebuilt "what"                                         (the closing line, with the elapsed time)
# Runs from the repository root, so every step names its script and outputs from there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYTHON=${PYTHON:-/usr/bin/python3}   # Debian's python: the one with torch
export PYTHONDONTWRITEBYTECODE=1     # no __pycache__ in the repo
start=$SECONDS

step() { echo; echo "== $1"; }
run_python() { step "$1"; "$PYTHON" "${@:2}"; }
rebuilt() { echo; echo "$1 rebuilt in $((SECONDS - start)) s"; }
