SUMMARY = "SANE backends for the document scanners a village station uses"
DESCRIPTION = "Scanner Access Now Easy: the libsane library, its udev rules and the \
               backends of common USB document and sheet-fed scanners (Avision, Canon \
               DR, Epson, Fujitsu, Kodak, Panasonic KV, Plustek, Canon PIXMA, \
               Xerox/Samsung MFP, Genesys-based)."
HOMEPAGE = "http://www.sane-project.org/"
BUGTRACKER = "https://gitlab.com/sane-project/backends/-/issues"
SECTION = "libs"
LICENSE = "GPL-2.0-or-later & LGPL-2.0-or-later & PD"
LIC_FILES_CHKSUM = "file://COPYING;md5=b234ee4d69f5fce4486a80fdaf4a4263 \
                    file://LICENSE;md5=c5c0f16c05b412905646291e1ba88b68"

DEPENDS = "libjpeg-turbo libpng libusb1 tiff"
# sane-desc (a build-time tool, not installed by upstream) writes the udev rules that tag
# supported scanners with libsane_matched, which 70-kiosk-devices.rules uses. It must run on
# the build host, so the native build installs it for the target build.
DEPENDS:append:class-target = " sane-backends-native"

# Debian's copy of the upstream release archive (a stable, checksummed file).
SRC_URI = "https://deb.debian.org/debian/pool/main/s/${BPN}/${BPN}_${PV}.orig.tar.gz"
SRC_URI[sha256sum] = "11be4ef05a61277d18698c2c9d86495dff97557bc8da7af44e3f6ef5154e9ea8"

S = "${UNPACKDIR}/backends-${PV}"

inherit autotools pkgconfig gettext

CVE_PRODUCT = "sane-backends"

EXTRA_OECONF = "--disable-locking \
                --without-snmp \
                --without-avahi \
                --without-usb-record-replay \
                --with-usb \
                --disable-rpath \
                "

# Only the backends of document scanners; the full set is large and pulls in more libraries.
SANE_BACKENDS ??= "avision canon_dr epjitsu epson2 epsonds fujitsu genesys kodak kvs1025 kvs20xx pixma plustek xerox_mfp"
export BACKENDS = "${SANE_BACKENDS}"

do_configure:prepend() {
    # The release archive has no git metadata; configure.ac reads its version from here.
    echo "${PV}" > ${S}/.tarball-version
}

do_install:append:class-native() {
    install -D -m 0755 ${B}/tools/sane-desc ${D}${bindir}/sane-desc
}

do_install:append:class-target() {
    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    sane-desc -m udev -s ${S}/doc/descriptions/ \
        > ${D}${nonarch_base_libdir}/udev/rules.d/65-libsane.rules
}

FILES:${PN} += "${libdir}/sane/*.so.* ${nonarch_base_libdir}/udev/rules.d"
FILES:${PN}-dev += "${libdir}/sane/*.so ${libdir}/sane/*.la"

BBCLASSEXTEND = "native"
