"""Every term of every addon's .pot is translated in fr.po and es.po.

`make pot` merges new terms into the .po files untranslated; this test then
names each one, so that a new string cannot ship half-translated. It also
checks that a translation keeps the placeholders of its source: Odoo formats
the translation with the source's arguments, and a lost %(name)s breaks the
message at run time.
"""

import re
from pathlib import Path

import polib
import pytest

REPO = Path(__file__).resolve().parent.parent
ADDONS = sorted(path.parent.name for path in REPO.glob("spp_dci_*/__manifest__.py"))
LANGUAGES = ("fr", "es")
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sdr]")


def translation_problems(pot_path, po_path):
    """One line per msgid of the .pot that the .po lacks, leaves untranslated or fuzzy, or mistranslates."""
    if not po_path.exists():
        return [f"{po_path.name} is missing"]
    translations = {entry.msgid: entry for entry in polib.pofile(str(po_path)) if not entry.obsolete}
    problems = []
    for source in polib.pofile(str(pot_path)):
        entry = translations.get(source.msgid)
        if entry is None:
            problems.append(f"missing: {source.msgid!r}")
        elif not entry.msgstr.strip():
            problems.append(f"untranslated: {source.msgid!r}")
        elif "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {source.msgid!r}")
        elif sorted(PLACEHOLDER.findall(entry.msgstr)) != sorted(PLACEHOLDER.findall(source.msgid)):
            problems.append(f"placeholders differ: {source.msgid!r} -> {entry.msgstr!r}")
    return problems


def test_every_addon_has_a_pot():
    assert len(ADDONS) == 5
    assert [addon for addon in ADDONS if not (REPO / addon / "i18n" / f"{addon}.pot").exists()] == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("addon", ADDONS)
def test_translations_are_complete(addon, lang):
    i18n = REPO / addon / "i18n"
    problems = translation_problems(i18n / f"{addon}.pot", i18n / f"{lang}.po")
    assert not problems, f"{addon}/i18n/{lang}.po:\n" + "\n".join(problems)


def test_the_check_names_each_problem(tmp_path):
    pot = polib.POFile()
    for msgid in ("Kept", "Dropped", "Empty", "Unsure", "Data source %(code)s failed", "Missing %s"):
        pot.append(polib.POEntry(msgid=msgid, msgstr=""))
    pot.save(str(tmp_path / "x.pot"))
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Kept", msgstr="Gardé"))
    po.append(polib.POEntry(msgid="Empty", msgstr=""))
    po.append(polib.POEntry(msgid="Unsure", msgstr="Incertain", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="Data source %(code)s failed", msgstr="La source de données %(kode)s a échoué"))
    po.append(polib.POEntry(msgid="Missing %s", msgstr="Manquant"))
    po.save(str(tmp_path / "fr.po"))

    assert translation_problems(tmp_path / "x.pot", tmp_path / "fr.po") == [
        "missing: 'Dropped'",
        "untranslated: 'Empty'",
        "fuzzy: 'Unsure'",
        "placeholders differ: 'Data source %(code)s failed' -> 'La source de données %(kode)s a échoué'",
        "placeholders differ: 'Missing %s' -> 'Manquant'",
    ]
    assert translation_problems(tmp_path / "x.pot", tmp_path / "es.po") == ["es.po is missing"]
