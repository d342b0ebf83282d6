# The kiosk's system.conf and keyring. The keyring is the CA certificate that signed the
# bundle key: development keys come from image/yocto/scripts/rauc-dev-keys (into
# KIOSK_RAUC_KEY_DIR, never committed); release builds point KIOSK_RAUC_KEY_DIR elsewhere.
FILESEXTRAPATHS:prepend := "${KIOSK_RAUC_KEY_DIR}:${THISDIR}/files:"

inherit kiosk-sanity

# rauc-conf takes a file name looked up in FILESPATH, not a path (unlike bundle.bbclass).
RAUC_KEYRING_FILE = "ca.cert.pem"

do_fetch[prefuncs] += "kiosk_check_rauc_keys"

do_install:append() {
    sed -i -e 's|@KIOSK_RAUC_COMPATIBLE@|${KIOSK_RAUC_COMPATIBLE}|' ${D}${nonarch_libdir}/rauc/system.conf
}
