#!/usr/bin/env bash
# Installs what the end-to-end tests need, idempotently, on a fresh Debian machine:
#   - apt packages: chromium (the browser playwright-core drives), libkrb5-dev (code-server's kerberos
#     module compiles from source and needs gssapi.h), ripgrep (seeds @vscode/ripgrep, see below),
#     fonts-nanum (Hangul for the Korean display-language test);
#   - code-server 4.100.3 (the last release that runs on Node 20) in the git-ignored `.e2e/` folder,
#     never among the extension's own dependencies.
# Facts behind each step: ../shared/vscode-e2e-here.md. Safe to run again: it only does what is missing.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
E2E_DIR="$ROOT/.e2e"
CS_DIR="$E2E_DIR/node_modules/code-server"
VSCODE_DIR="$CS_DIR/lib/vscode"

log() { echo "e2e-setup: $*"; }
fail() { echo "e2e-setup: ERROR: $*" >&2; exit 1; }
# shellcheck source=../lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"

# Files that exist only when code-server's postinstall (which runs `npm install` in lib/vscode and
# lib/vscode/extensions) and the native modules' install scripts all ran. npm 11 skips install scripts
# of dependencies that are not approved, silently, so "npm install exited 0" proves nothing.
installed_markers() {
  cat <<MARKERS
$VSCODE_DIR/node_modules.asar
$VSCODE_DIR/bin/remote-cli/code-server
$VSCODE_DIR/node_modules/node-pty/build/Release/pty.node
$VSCODE_DIR/node_modules/@vscode/spdlog/build/Release/spdlog.node
$VSCODE_DIR/node_modules/kerberos/build/Release/kerberos.node
$VSCODE_DIR/node_modules/native-watchdog/build/Release/watchdog.node
$VSCODE_DIR/node_modules/@vscode/ripgrep/bin/rg
$VSCODE_DIR/extensions/node_modules/typescript/package.json
MARKERS
}

code_server_complete() {
  [ -f "$CS_DIR/package.json" ] || return 1
  [ "$(node -p "require('$CS_DIR/package.json').version")" = "$CODE_SERVER_VERSION" ] || return 1
  local marker
  while read -r marker; do
    [ -e "$marker" ] || { log "missing: ${marker#"$ROOT/"}"; return 1; }
  done < <(installed_markers)
}

install_code_server() {
  if code_server_complete; then
    log "code-server $CODE_SERVER_VERSION already installed in .e2e/"
    return
  fi
  log "installing code-server $CODE_SERVER_VERSION into .e2e/ (about 1-2 minutes)"
  rm -rf "$E2E_DIR/node_modules" "$E2E_DIR/package-lock.json"
  mkdir -p "$E2E_DIR"

  # @vscode/ripgrep's postinstall downloads rg from GitHub (unreachable here) unless its cache in the
  # temp folder already holds the release archive: give it Debian's rg under the expected name.
  local tmp="${TMPDIR:-/tmp}"
  local rg_cache="$tmp/vscode-ripgrep-cache-1.15.11"
  local rg_archive="$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -s "$rg_archive" ]; then
    mkdir -p "$rg_cache"
    tar czf "$rg_archive" -C "$(dirname "$(command -v rg)")" rg
  fi

  # npm 11 runs a dependency's install scripts only when an allowScripts policy approves it, and
  # skips the others silently. code-server's own postinstall runs `npm install` again inside
  # lib/vscode and lib/vscode/extensions, which are separate projects, so the policy has to reach
  # them too. It cannot travel as `--allow-scripts`/npm_config_allow_scripts: npm exports every
  # non-default setting to child processes and then refuses it in a project-scoped install
  # (EALLOWSCRIPTS). So: (1) extract without scripts, (2) give each nested project its own
  # `.npmrc` allow list (new files; code-server's files are left untouched), (3) `npm rebuild`,
  # which runs the approved scripts, code-server's postinstall included. Every entry is pinned to
  # the exact version code-server 4.100.3's npm-shrinkwrap files lock; Windows-only modules omitted.
  cat > "$E2E_DIR/package.json" <<JSON
{
  "name": "cnn-lens-e2e-runtime",
  "private": true,
  "description": "code-server for CNN Lens end-to-end tests; written by scripts/e2e/setup.sh",
  "dependencies": { "code-server": "$CODE_SERVER_VERSION" },
  "allowScripts": { "code-server@$CODE_SERVER_VERSION": true, "argon2@0.31.2": true }
}
JSON

  # npm_config_yes: node-pty's postinstall runs npx. unsafe_perm: code-server's postinstall refuses
  # to run as root without it. The allowScripts matcher trusts a name+version only from the
  # lockfile's registry URL, so keep those URLs even if the user's npmrc omits them.
  (
    cd "$E2E_DIR"
    export npm_config_yes=true npm_config_unsafe_perm=true
    export npm_config_omit_lockfile_registry_resolved=false
    export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
    npm install --ignore-scripts --loglevel=warn
    echo "allow-scripts=node-pty@1.1.0-beta33,@vscode/spdlog@0.15.1,kerberos@2.1.1,native-watchdog@1.4.2,@vscode/ripgrep@1.15.11,@vscode/deviceid@0.1.1,@parcel/watcher@2.5.1" \
      > "$VSCODE_DIR/.npmrc"
    echo "allow-scripts=@parcel/watcher@2.5.1,esbuild@0.25.0" > "$VSCODE_DIR/extensions/.npmrc"
    npm rebuild --foreground-scripts --loglevel=warn
  ) || fail "npm install of code-server $CODE_SERVER_VERSION failed (see the output above)"

  code_server_complete || fail "code-server installed but its install scripts did not all run (files above are missing); check npm's 'install scripts not yet covered by allowScripts' warnings and the allow lists written above"
  log "code-server $CODE_SERVER_VERSION installed"
}

# fonts-nanum: Hangul glyphs, for the Korean display-language test (test/e2e/l10n.e2e.test.ts) and
# its screenshots; without a Korean font chromium draws every Hangul character as a box.
ensure_apt_packages e2e-setup chromium libkrb5-dev ripgrep fonts-nanum
install_code_server
log "ready: $CS_DIR/out/node/entry.js, /usr/bin/chromium"
