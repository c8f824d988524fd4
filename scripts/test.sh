#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (redis-server, memcached, php-cli) when missing,
# then runs every test. The tests start their own servers on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

install_packages() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    if ! need apt-get; then
        echo "error: please install: $* (no apt-get on this machine)" >&2
        exit 1
    fi
    echo "Installing $* ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
need redis-server || missing+=(redis-server)
need memcached || missing+=(memcached)
need php || missing+=(php-cli)
if [ ${#missing[@]} -gt 0 ]; then
    install_packages "${missing[@]}"
fi

cargo test --locked "$@"
