"""The production wheel of spp_dci_client: built as `pip wheel ./setup/spp_dci_client` builds it, offline."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SIMULATOR_CLASSES = (b"class SimulatedRegistry", b"class SimulatorServer", b"class FaultPlan")


@pytest.fixture(scope="module")
def client_wheel(tmp_path_factory):
    """{path: content} of every file in the wheel."""
    out = tmp_path_factory.mktemp("wheel")
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            *offline,
            "--wheel-dir",
            str(out),
            str(REPO / "setup" / "spp_dci_client"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("odoo_addon_spp_dci_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_wheel_holds_the_addon_and_its_services(client_wheel):
    for module in ("__manifest__.py", "services/signing.py", "services/envelope.py", "services/client.py"):
        assert f"odoo/addons/spp_dci_client/{module}" in client_wheel


def test_the_wheel_holds_no_simulator(client_wheel):
    assert [name for name in client_wheel if "simulator" in name.lower()] == []
    defining = [
        name
        for name, content in client_wheel.items()
        if name.endswith(".py") and any(marker in content for marker in SIMULATOR_CLASSES)
    ]
    assert defining == []
