#!/usr/bin/env bash
# `make pot`: exports i18n/<addon>.pot of every addon from a throwaway database
# where they are all installed, then merges the new terms into each addon's
# fr.po and es.po (msgmerge; a missing .po starts as a copy of the .pot).
# New terms stay untranslated until someone translates them:
# tests/test_translations.py lists them.
source "$(dirname "$0")/lib.sh"

LANGUAGES=(fr es)

require_odoo
ensure_venv
ensure_postgres
command -v msgmerge >/dev/null || die "msgmerge not found: install gettext (apt-get install gettext)"

DB=${POT_DB:-spp_dci_pot}
mkdir -p "$LOCAL"
drop_database "$DB"

log "installing $ADDONS into a fresh database '$DB'"
odoo_bin -d "$DB" -i "$ADDONS" --stop-after-init --no-http --workers 0 --max-cron-threads 0 \
    --log-level warn > "$LOCAL/pot-install.log" 2>&1 \
    || { tail -40 "$LOCAL/pot-install.log" >&2; die "installing the addons failed (log: $LOCAL/pot-install.log)"; }

log "exporting the .pot files"
read -ra addons < <(echo "$ADDONS" | tr ',' ' ')
# odoo-bin i18n reads the paths and the database server from a configuration file only.
odoo_conf_options > "$LOCAL/odoo-pot.conf"
"$VENV/bin/python" "$ODOO_SRC/odoo-bin" i18n export -c "$LOCAL/odoo-pot.conf" -d "$DB" "${addons[@]}" \
    > "$LOCAL/pot-export.log" 2>&1 \
    || { tail -40 "$LOCAL/pot-export.log" >&2; die "exporting the .pot files failed (log: $LOCAL/pot-export.log)"; }
drop_database "$DB"

for addon in "${addons[@]}"; do
    pot=$REPO/$addon/i18n/$addon.pot
    [ -f "$pot" ] || die "no $pot was exported (log: $LOCAL/pot-export.log)"
    for lang in "${LANGUAGES[@]}"; do
        po=$REPO/$addon/i18n/$lang.po
        if [ -f "$po" ]; then
            msgmerge --quiet --update --backup=none --no-fuzzy-matching --no-wrap "$po" "$pot"
        else
            msginit --no-translator --no-wrap --locale="$lang" --input="$pot" --output-file="$po" 2>/dev/null
        fi
        untranslated=$(msgattrib --untranslated --no-obsolete "$po" | grep -c '^msgid ' || true)
        log "$addon/i18n/$lang.po: $(( untranslated > 0 ? untranslated - 1 : 0 )) terms to translate"
    done
done
