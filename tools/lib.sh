# Shared setup for `make demo`, `make test` and `make bench`; sourced, not run.
# Everything it creates lives under .venv/ and .local/ (both git-ignored) and
# is reused on the next run.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo}
PYTHON=${PYTHON:-python3}
VENV=${VENV:-$REPO/.venv}
LOCAL=$REPO/.local
ADDONS=${ADDONS:-spp_dci_client,spp_dci_client_crvs,spp_dci_client_ibr,spp_dci_client_dr,spp_dci_demo}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

require_odoo() {
    if [ ! -f "$ODOO_SRC/odoo-bin" ] || [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
        cat >&2 <<MSG
error: Odoo 19.0 was not found at ODOO_SRC=$ODOO_SRC (no odoo-bin there).

This suite runs on Odoo 19.0 Community, which is installed separately:
  git clone --depth 1 --branch 19.0 https://github.com/odoo/odoo.git /opt/odoo
or point ODOO_SRC at an existing Odoo 19.0 source tree:
  ODOO_SRC=/path/to/odoo make test
MSG
        exit 2
    fi
    local version
    version=$(sed -n "s/^version_info = (\([0-9]*\),.*/\1/p" "$ODOO_SRC/odoo/release.py")
    [ "$version" = 19 ] || die "ODOO_SRC=$ODOO_SRC holds Odoo $version, this suite needs Odoo 19.0"
}

# OCA addons from PyPI (odoo-addon-*) require the distribution "odoo". Odoo is
# used from source, so register that tree as it, the way an editable install
# does: a .pth file putting it on the path, and its metadata.
register_odoo_source() {
    local site version info
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    version=$(sed -n "s/^version_info = (\([0-9]*\), \([0-9]*\),.*/\1.\2/p" "$ODOO_SRC/odoo/release.py")
    rm -rf "$site"/odoo-*.dist-info
    info=$site/odoo-$version.dist-info
    mkdir -p "$info"
    printf 'Metadata-Version: 2.1\nName: odoo\nVersion: %s\n' "$version" > "$info/METADATA"
    : > "$info/RECORD"
    echo "$ODOO_SRC" > "$site/odoo-source.pth"
}

# The virtual environment is rebuilt only when a requirements file (or ODOO_SRC) changes.
ensure_venv() {
    local stamp="$VENV/.requirements.sha256" want
    # The checkout is part of the stamp: test-requirements.txt installs its dci-simulator/ in editable mode.
    want=$( (echo "$ODOO_SRC"; echo "$REPO"; cat "$ODOO_SRC/requirements.txt" "$REPO/requirements.txt" \
        "$REPO/test-requirements.txt" "$REPO/build-constraints.txt") | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    log "installing Python dependencies into $VENV"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    register_odoo_source
    # python-ldap needs LDAP headers and only serves auth_ldap, which we do not use.
    grep -iv '^python-ldap' "$ODOO_SRC/requirements.txt" > "$VENV/odoo-requirements.txt"
    # From the checkout: pip reads the relative paths of requirement files from the current directory.
    if ! (cd "$REPO" && PIP_CONSTRAINT="$REPO/build-constraints.txt" "$VENV/bin/pip" install --quiet \
        --disable-pip-version-check -r "$VENV/odoo-requirements.txt" \
        -r "$REPO/requirements.txt" -r "$REPO/test-requirements.txt") > "$VENV/pip.log" 2>&1; then
        tail -40 "$VENV/pip.log" >&2
        die "installing the Python dependencies failed (full log: $VENV/pip.log)"
    fi
    echo "$want" > "$stamp"
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

find_pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        echo "$PG_BIN"
        return
    fi
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    done
    command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
    die "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL, set PG_BIN, or set PGHOST/PGPORT/PGUSER/PGPASSWORD for an existing server"
}

# Sets DB_ARGS for odoo-bin. With PGHOST set, an existing server is used as is;
# otherwise a private cluster listens on a Unix socket inside its own folder, so
# it never clashes with another server or another checkout.
ensure_postgres() {
    if [ -n "${PGHOST:-}" ]; then
        DB_ARGS=(--db_host "$PGHOST" --db_port "${PGPORT:-5432}" --db_user "${PGUSER:-odoo}")
        [ -n "${PGPASSWORD:-}" ] && DB_ARGS+=(--db_password "$PGPASSWORD")
        return
    fi
    local pg_bin pgdata
    pg_bin=$(find_pg_bin)
    PG_DIR=${PG_DIR:-$LOCAL/pg}
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$(dirname "$PG_DIR")" 2>/dev/null; then
        mkdir -p "$LOCAL"
        if ! runuser -u postgres -- test -x "$LOCAL" 2>/dev/null; then
            PG_DIR=/var/tmp/spp-dci-pg-$(echo "$REPO" | sha256sum | cut -c1-12)
            log "the postgres user cannot reach $LOCAL; using $PG_DIR for the cluster"
        fi
    fi
    pgdata=$PG_DIR/data
    if [ ! -f "$pgdata/PG_VERSION" ]; then
        log "creating a PostgreSQL cluster in $PG_DIR"
        mkdir -p "$PG_DIR"
        [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
        as_postgres "$pg_bin/initdb" -D "$pgdata" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_postgres "$pg_bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
        as_postgres "$pg_bin/pg_ctl" -D "$pgdata" -l "$PG_DIR/server.log" -w \
            -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' -c fsync=off" \
            start >/dev/null
    fi
    if ! as_postgres "$pg_bin/psql" -h "$PG_DIR" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_roles WHERE rolname='odoo'" | grep -q 1; then
        as_postgres "$pg_bin/psql" -h "$PG_DIR" -U postgres -d postgres -qc \
            "CREATE ROLE odoo LOGIN CREATEDB"
    fi
    PG_BIN=$pg_bin
    DB_ARGS=(--db_host "$PG_DIR" --db_user odoo)
}

drop_database() {
    local db=$1
    if [ -n "${PGHOST:-}" ]; then
        dropdb --if-exists "$db"
    else
        "$PG_BIN/dropdb" -h "$PG_DIR" -U odoo --if-exists "$db"
    fi
    rm -rf "$LOCAL/data/filestore/$db"
}

# Secrets at rest are encrypted with a key from the environment, never the
# database: keep one per checkout in .local/ (unless the caller provides one).
ensure_secret_key() {
    if [ -z "${SPP_DCI_SECRET_KEY:-}" ]; then
        mkdir -p "$LOCAL"
        if [ ! -s "$LOCAL/secret.key" ]; then
            (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' \
                > "$LOCAL/secret.key")
        fi
        SPP_DCI_SECRET_KEY=$(cat "$LOCAL/secret.key")
    fi
    export SPP_DCI_SECRET_KEY
}

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# odoo-bin with this checkout's paths and database; a subcommand (shell) comes first.
odoo_bin() {
    local subcommand=()
    if [ "${1:-}" = shell ]; then
        subcommand=(shell)
        shift
    fi
    ensure_secret_key
    mkdir -p "$LOCAL/data"
    "$VENV/bin/python" "$ODOO_SRC/odoo-bin" "${subcommand[@]}" \
        --addons-path "$ODOO_SRC/addons,$REPO" \
        --data-dir "$LOCAL/data" "${DB_ARGS[@]}" "$@"
}

exec_odoo_bin() {
    ensure_secret_key
    mkdir -p "$LOCAL/data"
    exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" \
        --addons-path "$ODOO_SRC/addons,$REPO" \
        --data-dir "$LOCAL/data" "${DB_ARGS[@]}" "$@"
}

# The [options] of an Odoo configuration file with this checkout's paths and
# database server, for the commands that read them from a file only
# (pytest-odoo, odoo-bin i18n); the caller appends what is its own.
odoo_conf_options() {
    echo "[options]"
    echo "addons_path = $ODOO_SRC/addons,$REPO"
    echo "data_dir = $LOCAL/data"
    echo "db_host = ${PGHOST:-$PG_DIR}"
    [ -n "${PGPORT:-}" ] && echo "db_port = $PGPORT"
    echo "db_user = ${PGUSER:-odoo}"
    [ -n "${PGPASSWORD:-}" ] && echo "db_password = $PGPASSWORD"
    return 0
}

# Prints the result of one SQL query against database $1 as the odoo role.
odoo_psql() {
    local db=$1 sql=$2
    if [ -n "${PGHOST:-}" ]; then
        psql -d "$db" -tAc "$sql"
    else
        "$PG_BIN/psql" -h "$PG_DIR" -U odoo -d "$db" -tAc "$sql"
    fi
}
