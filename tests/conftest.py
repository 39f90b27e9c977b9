"""Suite-level tests: plain-Python protocol code and the simulated registry.

They import the addons as Odoo does (odoo.addons.<name>), so Odoo must be
importable: `make test` puts ODOO_SRC on the path.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo")
if not Path(ODOO_SRC, "odoo", "release.py").exists():
    raise SystemExit(f"Odoo 19 not found at ODOO_SRC={ODOO_SRC}; see README.md")
sys.path.insert(0, ODOO_SRC)

import odoo.addons  # noqa: E402

for addons in (str(REPO), str(Path(ODOO_SRC, "addons"))):  # ours, and Odoo's (queue_job imports some)
    if addons not in odoo.addons.__path__:
        odoo.addons.__path__.append(addons)
