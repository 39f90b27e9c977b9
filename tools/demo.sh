#!/usr/bin/env bash
# `make demo`: a database with spp_dci_demo installed, served on
# http://localhost:8069 (admin/admin). A second run reuses the database.
source "$(dirname "$0")/lib.sh"

require_odoo
ensure_venv
ensure_postgres

DB=${DEMO_DB:-spp_dci_demo}
PORT=${DEMO_PORT:-8069}
state=$(odoo_psql "$DB" "SELECT state FROM ir_module_module WHERE name = 'spp_dci_demo'" 2>/dev/null || true)
if [ "$state" != installed ]; then
    log "installing spp_dci_demo into database '$DB'"
    odoo_bin -d "$DB" -i spp_dci_demo --stop-after-init --http-port "$PORT" --without-demo \
        --http-interface "${DEMO_HTTP_INTERFACE:-127.0.0.1}"
else
    log "reusing database '$DB'"
fi
log "Odoo is starting on http://localhost:$PORT (login admin / password admin); Ctrl-C stops it"
# queue_job's runner (a server-wide module) carries the bulk runs; root:N is how
# many jobs run at once on this server (each data source caps its own registry).
export ODOO_QUEUE_JOB_CHANNELS=${ODOO_QUEUE_JOB_CHANNELS:-root:${DEMO_JOB_CAPACITY:-2}}
exec_odoo_bin -d "$DB" --db-filter "^$DB\$" --http-port "$PORT" \
    --http-interface "${DEMO_HTTP_INTERFACE:-127.0.0.1}" --load base,web,queue_job --workers "${DEMO_WORKERS:-0}"
