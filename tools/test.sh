#!/usr/bin/env bash
# `make test`: every addon's Odoo tests in a fresh throwaway database, then the
# suite-level tests in tests/. Exits non-zero on any failure.
source "$(dirname "$0")/lib.sh"

require_odoo
ensure_venv
ensure_postgres

DB=${TEST_DB:-spp_dci_test}
TEST_TAGS=${TEST_TAGS:-$(echo "$ADDONS" | sed 's/\([^,]*\)/\/\1/g')}
ODOO_LOG=$LOCAL/test-odoo.log
mkdir -p "$LOCAL"
drop_database "$DB"

log "Odoo tests: installing $ADDONS into a fresh database '$DB' (tags $TEST_TAGS)"
set +e
odoo_bin -d "$DB" -i "$ADDONS" --test-enable --test-tags "$TEST_TAGS" \
    --stop-after-init --http-port "$(free_port)" --http-interface 127.0.0.1 \
    --workers 0 --max-cron-threads 0 2>&1 | tee "$ODOO_LOG"
odoo_rc=${PIPESTATUS[0]}
set -e

# Odoo prints "N failed, M error(s) of T tests" per phase (at install, post install).
read -r odoo_run odoo_bad < <(sed -n 's/.* \([0-9]*\) failed, \([0-9]*\) error(s) of \([0-9]*\) tests.*/\3 \1 \2/p' "$ODOO_LOG" \
    | awk '{run += $1; bad += $2 + $3} END {print run + 0, bad + 0}')
if grep -q ' ERROR .*odoo.modules.loading: \| CRITICAL ' "$ODOO_LOG"; then
    odoo_bad=$((odoo_bad + 1))
fi
[ "$odoo_rc" = 0 ] || [ "$odoo_bad" -gt 0 ] || odoo_bad=1
[ "$odoo_run" -gt 0 ] || { log "the Odoo test runner ran no test"; odoo_bad=$((odoo_bad + 1)); }
log "Odoo tests: $odoo_run run, $odoo_bad failed or errored (exit $odoo_rc)"

log "suite-level tests (tests/)"
set +e
ODOO_SRC=$ODOO_SRC PYTHONPATH=$ODOO_SRC "$VENV/bin/python" -m pytest -q -p no:cacheprovider -p no:odoo \
    "$REPO/tests" 2>&1 | tee "$LOCAL/test-suite.log"
pytest_rc=${PIPESTATUS[0]}
set -e
# pytest's last line: "N passed, M failed, K errors in Xs"
count_word() { tail -1 "$LOCAL/test-suite.log" | awk -v word="$1" '{for (i = 1; i < NF; i++) if ($(i + 1) ~ "^" word) n += $i} END {print n + 0}'; }
suite_passed=$(count_word passed)
suite_failed=$(( $(count_word failed) + $(count_word error) ))
[ "$pytest_rc" = 0 ] || [ "$suite_failed" -gt 0 ] || suite_failed=1

passed=$((odoo_run - odoo_bad + suite_passed))
failed=$((odoo_bad + suite_failed))
echo "total: $passed passed, $failed failed"
[ "$failed" = 0 ]
