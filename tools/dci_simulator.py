"""Run the simulated DCI registries standalone: python tools/dci_simulator.py --port 8900"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo")
sys.path.insert(0, ODOO_SRC)

import odoo.addons  # noqa: E402

odoo.addons.__path__.append(str(REPO))
odoo.addons.__path__.append(str(Path(ODOO_SRC, "addons")))  # queue_job, which the addon needs, imports some

from odoo.addons.spp_dci_client.simulator.server import main  # noqa: E402

if __name__ == "__main__":
    main()
