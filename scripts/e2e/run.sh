#!/usr/bin/env bash
# End-to-end tests of CNN Lens in a real VS Code (code-server 4.100.3 + Debian chromium, driven by
# playwright-core): installs what is missing (scripts/e2e/setup.sh, idempotent), then runs
# test/e2e/*.e2e.test.ts, which packages the VSIX, installs it into a temp profile, opens the sample
# workspace and checks the Grad-CAM panel. Screenshots and logs: test-artifacts/e2e/.
#   CNN_LENS_UPDATE_SCREENSHOT=1 scripts/e2e/run.sh   also refreshes media/screenshot-dark.png
#   CNN_LENS_E2E_SKIP_PACKAGE=1                        reuses dist-vsix/cnn-lens.vsix
# Extra arguments go to mocha (e.g. --grep palette); e2e files named (test/e2e/live.e2e.test.ts) run alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

start=$(date +%s)
bash scripts/e2e/setup.sh
setup_done=$(date +%s)
status=0
# Files named on the command line run alone: mocha adds --spec to the config's own spec (every file).
only_files=0
for arg in "$@"; do
  case "$arg" in *.e2e.test.ts) only_files=1 ;; esac
done
if [ "$only_files" = 1 ]; then
  npx mocha --no-config --node-option import=tsx --timeout 300000 --slow 30000 --reporter spec "$@" || status=$?
else
  npx mocha --config test/e2e/.mocharc.json "$@" || status=$?
fi
end=$(date +%s)
echo "e2e: setup $((setup_done - start)) s, tests $((end - setup_done)) s, total $((end - start)) s (exit $status)"
exit "$status"
