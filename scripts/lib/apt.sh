# Sourced by the test set-up scripts: installs Debian packages that are missing, idempotently.
#   ensure_apt_packages LOG_PREFIX PACKAGE...
# Runs apt-get as root (or through sudo), waits for another apt/dpkg run to finish instead of failing
# on its lock, and refreshes the package lists only when apt has no candidate for what is needed.

apt_log() { echo "$APT_LOG_PREFIX: $*"; }
apt_fail() { echo "$APT_LOG_PREFIX: ERROR: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    apt_fail "need root (or sudo) to run: $*"; fi
}

# Another apt/dpkg run (unattended upgrades, a parallel install) holds the dpkg lock; wait for it
# instead of failing with "Could not get lock".
wait_for_apt() {
  local waited=0
  while pgrep -x apt-get >/dev/null || pgrep -x apt >/dev/null || pgrep -x dpkg >/dev/null; do
    if [ "$waited" = 0 ]; then apt_log "waiting for another apt-get/dpkg run to finish..."; fi
    sleep 5
    waited=$((waited + 5))
    if [ "$waited" -ge 1200 ]; then apt_fail "apt-get/dpkg still busy after 20 minutes"; fi
  done
}

ensure_apt_packages() {
  APT_LOG_PREFIX="$1"
  shift
  local missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" = 0 ]; then
    apt_log "apt packages present ($*)"
    return
  fi
  apt_log "installing apt packages: ${missing[*]}"
  wait_for_apt
  if ! apt-cache policy "${missing[@]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    as_root apt-get update
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
    wait_for_apt
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}
