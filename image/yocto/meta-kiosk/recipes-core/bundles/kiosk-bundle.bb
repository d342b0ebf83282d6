SUMMARY = "Village service-station kiosk: the signed RAUC update bundle"
DESCRIPTION = "kiosk-image's root file system (kernel included) as a dm-verity RAUC bundle \
for USB-stick or county-pushed updates; refused by a station whose compatible differs."
HOMEPAGE = "https://kiosk.invalid/"
LICENSE = "MIT"

inherit bundle kiosk-sanity

RAUC_BUNDLE_FORMAT = "verity"
# The same variable fills system.conf (rauc-conf.bbappend); check-layout tests that both
# use it.
RAUC_BUNDLE_COMPATIBLE = "${KIOSK_RAUC_COMPATIBLE}"
RAUC_BUNDLE_VERSION = "${DISTRO_VERSION}"
RAUC_BUNDLE_DESCRIPTION = "Village kiosk OS ${DISTRO_VERSION} for ${MACHINE}"

RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "kiosk-image"
RAUC_SLOT_rootfs[fstype] = "ext4"

do_bundle[prefuncs] += "kiosk_check_rauc_keys"
