SUMMARY = "Noto Sans CJK (regular and bold), the kiosk's Chinese-first UI font"
DESCRIPTION = "Noto Sans CJK 2.004 as OpenType collections; the kiosk's screens name \
               'Noto Sans CJK SC'. Taken from Debian's package of the upstream release \
               (a stable, checksummed archive)."
HOMEPAGE = "https://github.com/notofonts/noto-cjk"
BUGTRACKER = "https://github.com/notofonts/noto-cjk/issues"
SECTION = "fonts"
LICENSE = "OFL-1.1"
LIC_FILES_CHKSUM = "file://usr/share/doc/fonts-noto-cjk/copyright;md5=c3187e1fb9101ede7d992a930463cc48"

SRC_URI = "https://deb.debian.org/debian/pool/main/f/fonts-noto-cjk/fonts-noto-cjk_${PV}+repack1-1_all.deb"
SRC_URI[sha256sum] = "4a2515eb6db3978b897fef9709ed0d2b1f4c6c4df4d83d6c4ef65f71f1b1f502"

S = "${UNPACKDIR}"

inherit allarch fontcache

# Fonts have no CVE entries.
CVE_PRODUCT = ""

do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    install -d ${D}${datadir}/fonts/opentype/noto
    install -m 0644 ${S}/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
        ${S}/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc \
        ${D}${datadir}/fonts/opentype/noto/
}

FILES:${PN} += "${datadir}/fonts/opentype/noto"

# Fonts for the target only.
BBCLASSEXTEND = ""
