# The kiosk's system.conf and keyring. The keyring is the CA certificate that signed the
# bundle key: development keys come from image/yocto/scripts/rauc-dev-keys (into
# KIOSK_RAUC_KEY_DIR, never committed); release builds point KIOSK_RAUC_KEY_DIR elsewhere.
FILESEXTRAPATHS:prepend:village-kiosk := "${KIOSK_RAUC_KEY_DIR}:${THISDIR}/files:"

# rauc-conf takes a file name looked up in FILESPATH, not a path (unlike bundle.bbclass).
RAUC_KEYRING_FILE:village-kiosk = "ca.cert.pem"

do_install:append:village-kiosk() {
    # Without KIOSK_RAUC_KEY_DIR/ca.cert.pem, FILESPATH finds meta-rauc's empty example.
    if ! grep -q "BEGIN CERTIFICATE" ${UNPACKDIR}/ca.cert.pem; then
        bbfatal "no RAUC keyring: run image/yocto/scripts/rauc-dev-keys ${KIOSK_RAUC_KEY_DIR} (development) or point KIOSK_RAUC_KEY_DIR at the release keys"
    fi
    sed -i -e 's|@KIOSK_RAUC_COMPATIBLE@|${KIOSK_RAUC_COMPATIBLE}|' ${D}${nonarch_libdir}/rauc/system.conf
}
