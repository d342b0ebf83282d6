#!/usr/bin/env python3
"""Builds ui/fonts/KioskSansCJK-Regular.otf and -Bold.otf, the fonts the kiosk's screens embed.

Subsets of Noto Sans CJK SC Regular and Bold (SIL Open Font License 1.1) that covers every hanzi a
resident ID card can carry in a name or an address in the Basic Multilingual Plane -- the CJK
Unified Ideographs U+4E00-9FFF and all of Extension A U+3400-4DBF (e.g. 䶮 U+4DAE), which is
GB 18030's BMP hanzi -- plus Latin, pinyin tone letters, punctuation, CJK symbols and
full-width forms. Hinting is dropped (the screen is rendered with anti-aliasing at large
sizes) and the family is renamed "Kiosk Sans CJK", as the OFL asks of modified versions and
so the embedded copy never competes with an installed Noto Sans CJK SC.

Regenerate (needs fontTools from PyPI and the Debian font package):

    apt-get install fonts-noto-cjk      # Noto Sans CJK 2.004 (1:20220127+repack1-1 on bookworm)
    pip install fonttools
    python3 ui/fonts/make-font.py [PATH/TO/NotoSansCJK-Regular.ttc [PATH/TO/NotoSansCJK-Bold.ttc]]

Bold is a face of its own (the software renderer draws a bold request with the regular
face otherwise): headings, values and buttons are bold by design.
"""

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
BOLD_SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
BOLD_OUT = Path(__file__).with_name("KioskSansCJK-Bold.otf")
SC = "Noto Sans CJK SC"
FAMILY = "Kiosk Sans CJK"
OUT = Path(__file__).with_name("KioskSansCJK-Regular.otf")
STANDIN = "Kiosk Stand-in"
STANDIN_OUT = Path(__file__).with_name("KioskStandIn-Regular.otf")

RANGES = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 (·, ×, é ...)
    (0x0100, 0x017F),  # Latin Extended-A (pinyin ā ē ī ō ū)
    (0x01CD, 0x01DC),  # pinyin ǎ ǐ ǒ ǔ ǖ ǘ ǚ ǜ
    (0x02C7, 0x02C9),  # ˇ ˉ
    (0x02D8, 0x02DD),
    (0x2010, 0x2027),  # dashes, quotes, ellipsis
    (0x2030, 0x203B),  # ‰ ′ ″ ※
    (0x20AC, 0x20AC),  # €
    (0x2103, 0x2103),  # ℃
    (0x2116, 0x2116),  # №
    (0x2160, 0x216B),  # Roman numerals
    (0x2190, 0x2199),  # arrows
    (0x2460, 0x249B),  # circled and bracketed numbers
    (0x2500, 0x257F),  # box drawing
    (0x25A0, 0x25FF),  # geometric shapes
    (0x2605, 0x2606),  # stars
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3105, 0x312F),  # bopomofo
    (0x3200, 0x32FF),  # enclosed CJK
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs (GB 18030 maps some)
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF01, 0xFF5E),  # full-width ASCII
    (0xFFE0, 0xFFE5),  # full-width ￥ ￠ ...
]


def rename(font, family: str, postscript: str, style: str = "Regular") -> None:
    names = font["name"]
    for r in list(names.names):
        if r.nameID in (1, 16):
            names.setName(family, r.nameID, r.platformID, r.platEncID, r.langID)
        elif r.nameID == 4:
            names.setName(f"{family} {style}", 4, r.platformID, r.platEncID, r.langID)
        elif r.nameID == 6:
            names.setName(postscript, 6, r.platformID, r.platEncID, r.langID)
        elif r.nameID == 3:
            names.setName(f"{family} {style}, a subset of {SC}", 3, r.platformID, r.platEncID, r.langID)
    cff = font["CFF "].cff
    cff.fontNames = [postscript]
    top = cff.topDictIndex[0]
    top.FamilyName = family
    top.FullName = f"{family} {style}"


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else SOURCE
    collection = TTCollection(source)
    index = [f["name"].getDebugName(1) for f in collection.fonts].index(SC)
    font = collection.fonts[index]
    cmap = font.getBestCmap()
    wanted = [u for lo, hi in RANGES for u in range(lo, hi + 1) if u in cmap]

    options = subset.Options()
    options.hinting = False
    options.desubroutinize = False
    # Only kerning: locl, vert and the like would pull in the Japanese, Korean and
    # Traditional variants of thousands of glyphs the screen never asks for.
    options.layout_features = ["kern"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)

    rename(font, FAMILY, "KioskSansCJK-Regular")

    font.save(OUT)
    print(f"{OUT}: {len(wanted)} characters, {OUT.stat().st_size} bytes")

    # The stand-in fontconfig is shown when it sees no font at all (see ui/src/fonts.rs):
    # the same font cut down to ASCII, under a name of its own.
    tiny = TTCollection(source).fonts[index]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=range(0x20, 0x7F))
    subsetter.subset(tiny)
    rename(tiny, STANDIN, "KioskStandIn-Regular")
    tiny.save(STANDIN_OUT)
    print(f"{STANDIN_OUT}: {STANDIN_OUT.stat().st_size} bytes")

    # The bold face: the same characters.
    bold_source = sys.argv[2] if len(sys.argv) > 2 else BOLD_SOURCE
    bold_collection = TTCollection(bold_source)
    bold_index = [f["name"].getDebugName(1) for f in bold_collection.fonts].index(SC)
    bold = bold_collection.fonts[bold_index]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(bold)
    rename(bold, FAMILY, "KioskSansCJK-Bold", "Bold")
    bold.save(BOLD_OUT)
    print(f"{BOLD_OUT}: {BOLD_OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
