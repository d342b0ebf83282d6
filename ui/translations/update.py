#!/usr/bin/env python3
"""Brings ui/translations/zh_CN/LC_MESSAGES/kiosk-ui.po in step with the @tr() strings of
ui/ui/*.slint: one entry per (component, string), the component being Slint's default
translation context. Translations already in the file are kept (looked up by string); new
strings get an empty msgstr for a translator, and `cargo test -p kiosk-ui` fails until
they are filled in. Gettext tools (msgmerge, poedit) read and write the same file.

    python3 ui/translations/update.py
"""

import re
from pathlib import Path

HERE = Path(__file__).parent
PO = HERE / "zh_CN" / "LC_MESSAGES" / "kiosk-ui.po"
SLINT = HERE.parent / "ui"

COMPONENT = re.compile(r"^\s*(?:export\s+)?component\s+([A-Za-z][\w-]*)")
TR = re.compile(r'@tr\("((?:[^"\\]|\\.)*)"')


def extract():
    found = []
    for path in sorted(SLINT.glob("*.slint")):
        component = None
        for line in path.read_text(encoding="utf-8").splitlines():
            m = COMPONENT.match(line)
            if m:
                component = m.group(1)
            for s in TR.findall(line):
                key = (component, s)
                if key not in found:
                    found.append(key)
    return found


def read_po():
    known = {}
    if not PO.exists():
        return known
    msgid = None
    for line in PO.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            msgid = line[len('msgid "'):-1]
        elif line.startswith("msgstr ") and msgid:
            value = line[len('msgstr "'):-1]
            if value:
                known[msgid] = value
    return known


def main():
    known = read_po()
    out = [
        '# Chinese (Simplified) for the kiosk screens. Source strings are English.',
        '# Regenerate the entries with: python3 ui/translations/update.py',
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Language: zh_CN\\n"',
        '"Plural-Forms: nplurals=1; plural=0;\\n"',
        "",
    ]
    for component, msgid in extract():
        out += [f'msgctxt "{component}"', f'msgid "{msgid}"', f'msgstr "{known.get(msgid, "")}"', ""]
    PO.write_text("\n".join(out), encoding="utf-8")
    missing = sorted({m for _, m in extract() if m not in known})
    for m in missing:
        print(f"untranslated: {m}")


if __name__ == "__main__":
    main()
