"""Run the simulated DCI registries standalone: python tools/dci_simulator.py --port 8900"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("ODOO_SRC", "/opt/odoo"))

import odoo.addons  # noqa: E402

odoo.addons.__path__.append(str(REPO))

from odoo.addons.spp_dci_client.simulator.server import main  # noqa: E402

if __name__ == "__main__":
    main()
