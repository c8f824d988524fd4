#!/usr/bin/env bash
# The whole test suite. Installs what the tests need (redis-server, memcached, php-cli and
# Laravel's cache components, openssh-server, dbus + gnome-keyring, PostgreSQL, MariaDB,
# Prometheus' promtool) when missing, then runs every test. The tests start their own servers on free loopback ports.
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
# Read once: `php -m | grep -q` under pipefail fails at random (grep stops reading, php gets
# SIGPIPE), and would install what is there.
php_modules="$(php -m 2>/dev/null || true)"
has_module() { grep -qix "$1" <<<"$php_modules"; }
has_module memcached || missing+=(php-memcached)
# Real Laravel (Debian's Laravel 8 components) writes and reads back the caches the format
# tests look at (tests/laravel_stores.rs).
has_module redis || missing+=(php-redis)
has_module pdo_sqlite || missing+=(php-sqlite3)
has_module pdo_pgsql || missing+=(php-pgsql)
has_module pdo_mysql || missing+=(php-mysql)
for component in cache redis database filesystem session; do
    dir="$(echo "${component:0:1}" | tr a-z A-Z)${component:1}"
    [ -f "/usr/share/php/Illuminate/$dir/autoload.php" ] || missing+=("php-illuminate-$component")
done
# SSH tunnel tests run their own sshd (and ssh-agent, ssh-keygen) on free ports.
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
need ssh-agent || missing+=(openssh-client)
# Keyring tests run their own D-Bus session bus and gnome-keyring daemon (never the user's).
{ need dbus-daemon && need dbus-send; } || missing+=(dbus)
need gnome-keyring-daemon || missing+=(gnome-keyring)
# The exporter's answers are checked by Prometheus' own parser and linter, `promtool check
# metrics` (Debian's prometheus package ships it).
need promtool || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
    install_packages "${missing[@]}"
    # Only promtool is wanted: where systemd started the Prometheus server the package
    # brings, stop it again.
    if [[ " ${missing[*]} " == *" prometheus "* ]] && need systemctl && systemctl is-system-running >/dev/null 2>&1; then
        systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
fi

# Database caches are tested against a local PostgreSQL and MariaDB: each test creates its own
# database there and drops it. When none answers, install and start them (set CC_TEST_PG_URL or
# CC_TEST_MYSQL_URL to use other servers).
if [ -z "${CC_TEST_PG_URL:-}" ] && ! (need pg_isready && pg_isready -h 127.0.0.1 -p 5432 -q); then
    # ssl-cert first: the cluster it creates then has TLS on, as most servers do (a test checks
    # that the console uses it).
    install_packages ssl-cert postgresql
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    # A server this script installed: let local TCP connections in without a password.
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' \
        "/etc/postgresql/$version/main/pg_hba.conf"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if [ -z "${CC_TEST_MYSQL_URL:-}" ] && ! (need mariadb-admin && mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1); then
    install_packages mariadb-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=root
    for _ in $(seq 1 30); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 1; done
    # A server this script installed: root may log in over TCP without a password.
    mariadb -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" || true
fi

cargo test --locked "$@"
