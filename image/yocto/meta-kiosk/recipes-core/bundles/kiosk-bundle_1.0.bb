# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.suggestedvar.BUGTRACKER
# (the kiosk has no public web site or bug tracker; its home is this repository)
SUMMARY = "Village service-station kiosk: the signed RAUC update bundle"
DESCRIPTION = "kiosk-image's root file system (kernel included) as a dm-verity RAUC \
               bundle for USB-stick or county-pushed updates; a station whose compatible \
               differs refuses it."
SECTION = "kiosk"
LICENSE = "MIT"

# bundle.bbclass collects the slot images from the deploy directory; nothing to fetch.
SRC_URI = ""

inherit bundle

CVE_PRODUCT = ""

RAUC_BUNDLE_FORMAT = "verity"
# The same variable fills system.conf (rauc-conf.bbappend); check-layout tests that both
# use it.
RAUC_BUNDLE_COMPATIBLE = "${KIOSK_RAUC_COMPATIBLE}"
RAUC_BUNDLE_VERSION = "${DISTRO_VERSION}"
RAUC_BUNDLE_DESCRIPTION = "Village kiosk OS ${DISTRO_VERSION} for ${MACHINE}"

RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "kiosk-image"
RAUC_SLOT_rootfs[fstype] = "ext4"

# Say where the signing keys come from instead of failing late inside rauc.
python kiosk_check_rauc_keys () {
    import os
    for var in ("RAUC_KEY_FILE", "RAUC_CERT_FILE", "RAUC_KEYRING_FILE"):
        path = d.getVar(var) or ""
        if not os.path.isfile(path):
            bb.fatal("%s (%s) does not exist: run image/yocto/scripts/rauc-dev-keys %s "
                     "(development) or point KIOSK_RAUC_KEY_DIR at the release keys"
                     % (var, path, d.getVar("KIOSK_RAUC_KEY_DIR")))
}
kiosk_check_rauc_keys[doc] = "Fail with a clear message when the RAUC signing key, certificate or keyring is missing"
do_bundle[prefuncs] += "kiosk_check_rauc_keys"

# A bundle is built for the target machine only.
BBCLASSEXTEND = ""
