#!/usr/bin/env bash
# `make bench`: client figures against the standalone simulator on loopback,
# in a fresh database. Prints a table and, last, one line `BENCH {json}`.
source "$(dirname "$0")/lib.sh"

require_odoo
ensure_venv
ensure_postgres

DB=${BENCH_DB:-spp_dci_bench}
drop_database "$DB"
log "installing spp_dci_client_crvs into '$DB'"
odoo_bin -d "$DB" -i spp_dci_client_crvs --stop-after-init --without-demo --log-level warn \
    --http-interface 127.0.0.1
SIM_PORT=$(free_port)
CLIENT_KEY_FILE="$LOCAL/bench-client-key.pem"
rm -f "$CLIENT_KEY_FILE"
"$VENV/bin/dci-simulator" --port "$SIM_PORT" --size 10100 \
    --client bench:bench-secret --client-key "$CLIENT_KEY_FILE" --require-signature \
    > "$LOCAL/bench-simulator.log" 2>&1 &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null' EXIT
BENCH_SIMULATOR_URL="http://127.0.0.1:$SIM_PORT" BENCH_CLIENT_KEY_FILE="$CLIENT_KEY_FILE" \
    odoo_bin shell -d "$DB" --no-http --log-level warn \
    < "$REPO/tools/bench.py"
