"""OCA layout: README.rst and index.html generated from readme/, manifests with status and maintainers."""

import ast
import importlib.util
from pathlib import Path

import lxml.html
import pytest

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("gen_readme", REPO / "tools" / "gen_readme.py")
gen_readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_readme)

ADDON_DIRS = gen_readme.addon_dirs()


def test_five_addons():
    assert [path.name for path in ADDON_DIRS] == [
        "spp_dci_client",
        "spp_dci_client_crvs",
        "spp_dci_client_dr",
        "spp_dci_client_ibr",
        "spp_dci_demo",
    ]


@pytest.mark.parametrize("addon_dir", ADDON_DIRS, ids=lambda path: path.name)
def test_readme_is_generated_from_fragments(addon_dir):
    assert {path.name for path in (addon_dir / "readme").iterdir()} >= {
        "DESCRIPTION.md",
        "USAGE.md",
        "CONFIGURE.md",
        "CONTRIBUTORS.md",
    }
    text = gen_readme.readme(addon_dir)
    assert (addon_dir / "README.rst").read_text(encoding="utf-8") == text, "run make readme"
    index = addon_dir / "static" / "description" / "index.html"
    assert index.read_text(encoding="utf-8") == gen_readme.index_html(text), "run make readme"
    # Odoo's Apps form reads the file this way (ir.module.module._get_desc); an XML declaration breaks it.
    assert lxml.html.document_fromstring(index.read_bytes().decode()).findtext(".//title") == text.split("\n")[1]


@pytest.mark.parametrize("addon_dir", ADDON_DIRS, ids=lambda path: path.name)
def test_manifest_has_status_and_maintainers(addon_dir):
    manifest = ast.literal_eval((addon_dir / "__manifest__.py").read_text(encoding="utf-8"))
    assert manifest["development_status"] in {"Alpha", "Beta", "Production/Stable", "Mature"}
    assert manifest["maintainers"] and all(isinstance(login, str) and login for login in manifest["maintainers"])


def test_fragment_conversion():
    rst = gen_readme.markdown_to_rst(
        "Use `search_by_id` and [the spec](https://standards.spdci.org), see <https://example.org>.\n\n"
        "## Steps\n\n- one\n  continued\n\n```python\nx = 1\n\ny = 2\n```\n",
        "USAGE",
    )
    assert rst == (
        "Use ``search_by_id`` and `the spec <https://standards.spdci.org>`__, see https://example.org.\n\n"
        "Steps\n^^^^^\n\n- one\n  continued\n\n.. code-block:: python\n\n    x = 1\n\n    y = 2\n"
    )
    with pytest.raises(ValueError, match="no headings"):
        gen_readme.markdown_to_rst("# A heading\n", "DESCRIPTION")


def test_a_broken_fragment_is_refused():
    with pytest.raises(Exception, match="Inline literal start-string without end-string"):
        gen_readme.index_html("Title\n=====\n\nA ``literal``s that never ends.\n")
