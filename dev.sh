#!/usr/bin/env bash
# One entry point for newcomers and CI (run as root on Debian/Ubuntu):
#   ./dev.sh demo    install what is missing, build, run `sesame demo`
#   ./dev.sh test    install what is missing, build, lint, run every test (unit + e2e in namespaces)
#   ./dev.sh bench   install what is missing, build, run the benchmarks
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the demo, the e2e tests and the benchmarks drive for real.
PACKAGES=(nftables iproute2 iptables openssh-server openssh-client nmap knockd netcat-openbsd curl nginx
          logrotate chromium psmisc procps ca-certificates openssl python3 iputils-ping socat
          fwknop-client fwknop-server redis-server fail2ban python3-pyinotify man-db groff-base
          dpkg-dev binutils binutils-aarch64-linux-gnu lintian zsh debootstrap systemd-container ansible-core)

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    echo "dev.sh: installing ${missing[*]}" >&2
    apt-get update -q >/dev/null
    # policy-rc.d 101: packages (redis, fail2ban, fwknopd, nginx) must not start as host services
    local policy=/usr/sbin/policy-rc.d added=
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$added" ] || rm -f "$policy"
  fi
  # the lab's sshd and nginx are started by the tests themselves, never as host services
  systemctl disable --now ssh nginx knockd fwknop-server redis-server fail2ban >/dev/null 2>&1 || true
}

install_node_modules() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
}

if [ "$(id -u)" != 0 ]; then echo "dev.sh: run as root (namespaces and nftables need it)" >&2; exit 1; fi
cmd=${1:-test}
install_packages
install_node_modules
npm run -s build
case "$cmd" in
  demo)  exec node dist/src/cli/main.js demo ;;
  test)  npm run -s lint && exec node scripts/test.mjs "${2:-}" ;;
  bench) shift; exec node dist/bench/main.js "$@" ;;
  *) echo "usage: ./dev.sh demo|test|bench" >&2; exit 2 ;;
esac
