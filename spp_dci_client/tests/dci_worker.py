"""A separate Odoo process on the test database, for the tests about processes.

python dci_worker.py CONFIG_JSON MODE DATA_SOURCE_ID [ARG]

- token START: at the wall-clock time START, get the data source's OAuth2
  token; print its SHA-256.
- calls N: make N searches, printing "answered TRANSACTION_ID" after each.

CONFIG_JSON holds the odoo.tools.config values to use (database, addons path).
"""

import hashlib
import json
import sys
import time


def main():
    settings, mode, data_source_id = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415
    from odoo.modules.module import initialize_sys_path  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    for key, value in settings.items():
        config[key] = value
    initialize_sys_path()
    registry = Registry(settings["db_name"][0])
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        source = env["spp.dci.data.source"].browse(data_source_id)
        # a script run as its own process, not a module of the addon: no relative import
        from odoo.addons.spp_dci_client.services.client import DCIClient  # noqa: PLC0415  # pylint: disable=odoo-addons-relative-import

        client = DCIClient(source, env)
        if mode == "token":
            time.sleep(max(0.0, float(sys.argv[4]) - time.time()))
            token = client.tokens.get(client.transport)
            print(hashlib.sha256(token.encode()).hexdigest(), flush=True)  # pylint: disable=print-used
        elif mode == "calls":
            for _ in range(int(sys.argv[4])):
                response = client.search_by_id("BRN", "BR-2024-0042")
                print("answered", response["message"]["transaction_id"], flush=True)  # pylint: disable=print-used
        client.close()


if __name__ == "__main__":
    main()
