# Embedded PostgreSQL 16 + pgvector from the PyPI wheel `pgserver`, for ./run and ./test. Sourced, not executed.
# Postgres refuses to run as root: as root, the cluster runs as `nobody`, in a folder that user can reach.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'erreur : %s\n' "$*" >&2; exit 1; }

# Python virtual environment of the repo (ignored by git) with the given PyPI packages.
ensure_venv() {
  command -v python3 >/dev/null || ensure_debian_packages python3
  # A venv made while ensurepip was missing has a python but no pip: start it again.
  if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "Création de l'environnement Python ($VENV)"
    rm -rf "$VENV"
    python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; ensure_debian_packages python3-venv; python3 -m venv "$VENV"; } \
      || die "python3 -m venv a échoué : installez python3-venv"
  fi
  local missing=()
  for package in "$@"; do
    "$VENV/bin/python" -m pip show -q "${package%%[=<>]*}" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "Installation de ${missing[*]} (PyPI)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${missing[@]}" || die "pip install ${missing[*]} a échoué"
  fi
}

# Installs the Debian packages whose command or file is missing ("command:package", "/path:package" or "package").
ensure_debian_packages() {
  local wanted=()
  for spec in "$@"; do
    local probe="${spec%%:*}"
    if [ "${probe#/}" != "$probe" ]; then [ -e "$probe" ] || wanted+=("${spec##*:}")
    else command -v "$probe" >/dev/null || wanted+=("${spec##*:}"); fi
  done
  [ ${#wanted[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "installez : ${wanted[*]}"
  log "Installation de ${wanted[*]} (paquets Debian)"
  as_root apt-get update -qq >/dev/null && as_root apt-get install -y -qq "${wanted[@]}" >/dev/null || die "apt-get install ${wanted[*]} a échoué"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "droits root nécessaires pour : $*"; fi
}

# Runs a command as the user that owns the cluster.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

pg_bin_dir() {
  "$VENV/bin/python" -W ignore -c 'import os, pgserver; print(os.path.join(os.path.dirname(pgserver.__file__), "pginstall", "bin"))'
}

# Prepares PG_BIN and PG_DATA for a cluster named $1 (a folder under var/).
# As root, when `nobody` cannot reach the repo, binaries and data live under /var/tmp instead, linked from var/.
pg_prepare() {
  local name="$1"
  ensure_venv "pgserver==0.1.4"
  PG_BIN="$(pg_bin_dir)"
  mkdir -p "$REPO_ROOT/var"
  PG_DATA="$REPO_ROOT/var/$name"
  if [ "$(id -u)" = 0 ] && ! runuser -u nobody -- test -x "$PG_BIN/postgres" 2>/dev/null; then
    local outside="/var/tmp/widip-$(printf '%s' "$REPO_ROOT" | sha1sum | cut -c1-12)"
    mkdir -p "$outside"
    if [ ! -x "$outside/pginstall/bin/postgres" ]; then
      cp -a "$(dirname "$PG_BIN")" "$outside/pginstall"
      chmod -R a+rX "$outside/pginstall"
    fi
    chmod 755 "$outside"
    PG_BIN="$outside/pginstall/bin"
    [ -L "$PG_DATA" ] || { rm -rf "$PG_DATA"; ln -s "$outside/$name" "$PG_DATA"; }
    PG_DATA="$outside/$name"
  fi
}

# Initialises the cluster once (password authentication, loopback only) and starts it on port $2.
# Sets PG_URL_BASE (postgresql://widip:…@127.0.0.1:PORT), and PG_STARTED_HERE=1 unless it was already running.
pg_start() {
  local name="$1" port="$2"
  pg_prepare "$name"
  local secret_file="$REPO_ROOT/var/$name.password"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "Initialisation de PostgreSQL dans $PG_DATA"
    [ -f "$secret_file" ] || { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$secret_file"; chmod 600 "$secret_file"; }
    rm -rf "$PG_DATA"; mkdir -p "$PG_DATA"; chmod 700 "$PG_DATA"
    local pwfile; pwfile="$(mktemp)"; cp "$secret_file" "$pwfile"; chmod 600 "$pwfile"
    [ "$(id -u)" = 0 ] && chown nobody "$PG_DATA" "$pwfile"
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U widip --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null \
      || { rm -f "$pwfile"; die "initdb a échoué"; }
    rm -f "$pwfile"
    cat >> "$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = ${PG_MAX_CONNECTIONS:-300}
shared_buffers = 128MB
fsync = ${PG_FSYNC:-on}
CONF
  fi
  PG_STARTED_HERE=""
  if as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "PostgreSQL tourne déjà ($PG_DATA) : il restera démarré"
  else
    PG_STARTED_HERE=1
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -o "-p $port" -l "$PG_DATA/server.log" -w -t 30 start >/dev/null \
      || { tail -n 20 "$PG_DATA/server.log" >&2; die "PostgreSQL n'a pas démarré (port $port occupé ?)"; }
  fi
  PG_URL_BASE="postgresql://widip:$(cat "$secret_file")@127.0.0.1:$port"
}

pg_stop() {
  [ -n "${PG_DATA:-}" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
}

# Creates database $2 on the running cluster if it does not exist.
pg_create_database() {
  local base="$1" database="$2"
  PGPASSWORD="${base#*widip:}"; PGPASSWORD="${PGPASSWORD%@*}"
  local port="${base##*:}"
  if ! PGPASSWORD="$PGPASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U widip -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    PGPASSWORD="$PGPASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U widip -d postgres -qc "CREATE DATABASE \"$database\"" >/dev/null
  fi
}
