# Refuses to build a bundle or image without the signing material RAUC needs, with a
# sentence that says where it comes from, instead of a late failure inside rauc.
KIOSK_RAUC_KEY_DIR[doc] = "Directory with ca.cert.pem and the development signing key and certificate (image/yocto/scripts/rauc-dev-keys writes them)."

python kiosk_check_rauc_keys () {
    import os
    keydir = d.getVar("KIOSK_RAUC_KEY_DIR")
    for name in ("ca.cert.pem", "development-1.key.pem", "development-1.cert.pem"):
        if not os.path.isfile(os.path.join(keydir, name)):
            bb.fatal("%s/%s does not exist: run image/yocto/scripts/rauc-dev-keys %s "
                     "(development) or point KIOSK_RAUC_KEY_DIR at the release keys" % (keydir, name, keydir))
}
