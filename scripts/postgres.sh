#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1, for the tests and benchmarks.
#
#   scripts/postgres.sh start [DIR]   make and start a cluster in DIR (default: a new temp dir);
#                                     prints `DSN` then `DIR` and writes DIR/dsn and DIR/env
#   scripts/postgres.sh stop DIR      stop the cluster in DIR and delete DIR
#
# Installs Debian's `postgresql` package when initdb/pg_ctl are missing (needs root, as in CI).
# The server never runs as root: as root the cluster belongs to the `postgres` user (created
# with useradd if missing); otherwise to whoever runs this. Trust authentication on 127.0.0.1
# only, on a free port. Extra server settings: POSTGRES_OPTIONS="-c fsync=off ..." (the test
# fixture turns fsync off: the tests kill workers, not the server).
#
#   eval "$(scripts/postgres.sh start | sed -n '1s/^/export TOWER_LLM_FX_POSTGRES_DSN=/p')"
set -euo pipefail

find_bin() {
    local name=$1 dir
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
    done
    return 1
}

as_owner() {  # run a command as the cluster's owner
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    if ! find_bin initdb >/dev/null || ! find_bin pg_ctl >/dev/null; then
        if [ "$(id -u)" != 0 ]; then
            echo "postgres.sh: initdb/pg_ctl not found; install PostgreSQL (apt-get install postgresql) or run as root" >&2
            exit 1
        fi
        echo "postgres.sh: installing Debian's postgresql package (one-time)..." >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
    fi
    local initdb pg_ctl dir port
    initdb=$(find_bin initdb)
    pg_ctl=$(find_bin pg_ctl)
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/tower-llm-fx-pg.XXXXXX")}
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null
    as_owner "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c max_connections=300 ${POSTGRES_OPTIONS:-}" \
        start >/dev/null
    local dsn="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "$dsn" >"$dir/dsn"
    echo "TOWER_LLM_FX_POSTGRES_DSN=$dsn" >"$dir/env"
    echo "$dsn"
    echo "$dir"
}

stop() {
    local dir=${1:?usage: postgres.sh stop DIR}
    if [ -d "$dir/data" ]; then
        as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start [DIR] | stop DIR" >&2; exit 2 ;;
esac
