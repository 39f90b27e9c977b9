"""Re-encrypt every stored DCI secret with the first key of dci_secret_key.

Rotation: put the new key first and keep the old one after it, comma
separated (SPP_DCI_SECRET_KEY="new,old" or dci_secret_key = new,old), restart
Odoo, run this script in an Odoo shell, then drop the old key:

    SPP_DCI_SECRET_KEY="new,old" odoo-bin shell -d DB --no-http < tools/rotate_secret_key.py

It commits once, after every value was re-encrypted; a value no configured key
opens stops it with nothing written.
"""

from odoo.tools import SQL

from odoo.addons.spp_dci_client.services import secrets

STORED_SECRETS = [
    ("spp.dci.data.source", "bearer_token_stored"),
    ("spp.dci.data.source", "oauth2_client_secret_stored"),
    ("spp.dci.signing.key", "private_key_stored"),
    ("spp.dci.oauth.token", "access_token_stored"),
    ("spp.dci.transaction", "result_stored"),
]


def rotate(env):
    """Re-encrypt the stored secrets in env's transaction; {model.column: rows rewritten}."""
    env.flush_all()
    counts = {}
    for model, column in STORED_SECRETS:
        table = env[model]._table
        env.cr.execute(
            SQL(
                "SELECT id, %s FROM %s WHERE %s IS NOT NULL",
                SQL.identifier(column),
                SQL.identifier(table),
                SQL.identifier(column),
            )
        )
        rows = env.cr.fetchall()
        for record_id, stored in rows:
            env.cr.execute(
                SQL(
                    "UPDATE %s SET %s = %s WHERE id = %s",
                    SQL.identifier(table),
                    SQL.identifier(column),
                    secrets.rotate(stored),
                    record_id,
                )
            )
        counts[f"{model}.{column}"] = len(rows)
    env.invalidate_all()
    return counts


if "env" in globals():
    print(rotate(env))  # noqa: F821
    env.cr.commit()  # noqa: F821
