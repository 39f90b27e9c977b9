#!/usr/bin/env bash
# `make test`: installs every addon into a fresh throwaway database, then runs
# every addon's Odoo tests (tours included) and the suite-level tests in tests/
# in one pytest session (pytest-odoo). Extra arguments go to pytest, e.g.
# `make test PYTEST_ARGS="-k test_replay"`. Ends with `total: N passed, M failed`
# and exits non-zero on any failure; the JUnit report is .local/junit.xml.
source "$(dirname "$0")/lib.sh"

require_odoo
ensure_venv
ensure_postgres
ensure_secret_key

DB=${TEST_DB:-spp_dci_test}
mkdir -p "$LOCAL"
drop_database "$DB"

log "installing $ADDONS into a fresh database '$DB'"
odoo_bin -d "$DB" -i "$ADDONS" --stop-after-init --http-interface 127.0.0.1 --http-port "$(free_port)" \
    --workers 0 --max-cron-threads 0 --log-level warn > "$LOCAL/test-install.log" 2>&1 \
    || { tail -40 "$LOCAL/test-install.log" >&2; die "installing the addons failed (log: $LOCAL/test-install.log)"; }
if grep -q ' ERROR \| CRITICAL ' "$LOCAL/test-install.log"; then
    grep ' ERROR \| CRITICAL ' "$LOCAL/test-install.log" >&2
    die "installing the addons logged errors (log: $LOCAL/test-install.log)"
fi

# pytest-odoo reads the database and paths from an Odoo configuration file; a
# developer reuses it for one test: ODOO_RC=.local/odoo-test.conf .venv/bin/pytest -k NAME
# The test server runs no queue_job runner (root:0): jobs run where a test says,
# through queue_job's test helpers or the separate odoo-bin a test starts.
{
    odoo_conf_options
    echo "db_name = $DB"
    echo "http_interface = 127.0.0.1"
    echo "workers = 0"
    echo "max_cron_threads = 0"
    echo "[queue_job]"
    echo "channels = root:0"
} > "$LOCAL/odoo-test.conf"

log "tests: every addon's and tests/ under pytest"
eval "extra_args=(${PYTEST_ARGS:-})"  # shell words, so that -k "a or b" stays one argument
read -ra addon_dirs < <(echo "$ADDONS" | tr ',' ' ' | sed "s|\([^ ]*\)|$REPO/\1|g")
set +e
ODOO_RC="$LOCAL/odoo-test.conf" "$VENV/bin/python" -m pytest -p no:cacheprovider --odoo-http \
    --junitxml="$LOCAL/junit.xml" -o junit_logging=system-out "${extra_args[@]}" "${addon_dirs[@]}" "$REPO/tests" 2>&1 \
    | tee "$LOCAL/test-suite.log"
pytest_rc=${PIPESTATUS[0]}
set -e

# The figure lines some tests print (FAULTS, ACCESS), kept by pytest in the JUnit report.
grep -ohE '^(FAULTS|ACCESS) [^<&]*' "$LOCAL/junit.xml" 2>/dev/null || true

# pytest's last line: "N passed, M failed, K errors, J subtests failed ... in Xs"
count_word() { tail -1 "$LOCAL/test-suite.log" | awk -v word="$1" '{for (i = 1; i < NF; i++) if ($(i + 1) ~ "^" word) n += $i} END {print n + 0}'; }
passed=$(tail -1 "$LOCAL/test-suite.log" | sed 's/[0-9]* subtests passed//' | awk '{for (i = 1; i < NF; i++) if ($(i + 1) ~ "^passed") n += $i} END {print n + 0}')
failed=$(( $(count_word failed) + $(count_word error) ))
[ "$pytest_rc" = 0 ] || [ "$failed" -gt 0 ] || failed=1
[ "$passed" -gt 0 ] || { log "pytest ran no test"; failed=$((failed + 1)); }
echo "total: $passed passed, $failed failed"
[ "$failed" = 0 ]
