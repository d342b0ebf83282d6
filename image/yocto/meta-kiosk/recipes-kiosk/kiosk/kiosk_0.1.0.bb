# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.suggestedvar.BUGTRACKER
# (the kiosk has no public web site or bug tracker; its home is this repository)
SUMMARY = "Village service-station kiosk: the appliance binary and its systemd units"
DESCRIPTION = "The kiosk binary (touchscreen UI, ID-card reader, scanner and printer \
               drivers, offline-first outbox) built from this repository with Slint's \
               linuxkms backend, plus its systemd units, udev rules, fontconfig snippet \
               and service user."
SECTION = "kiosk"
LICENSE = "Apache-2.0"
# nooelint: oelint.var.licenseremotefile - the repository carries the SPDX id in Cargo.toml, not a licence text
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10"

DEPENDS += "udev"

# The source is the repository itself (EXTERNALSRC in the distro conf); the crates come
# from the generated include, fetched in do_fetch like any other source, so do_compile runs
# with --frozen and no network. Regenerate it with image/yocto/scripts/update-crates.
require ${BPN}-crates.inc

inherit cargo cargo-update-recipe-crates systemd useradd

# linuxkms: Slint draws with DRM/KMS and reads the touchscreen through libinput
# (backend-linuxkms-noseat + the software renderer; no skia, no GL needed).
PACKAGECONFIG ??= "linuxkms"
PACKAGECONFIG[linuxkms] = "--features linuxkms,,libdrm libinput libxkbcommon udev"

CARGO_SRC_DIR = "firmware"
CARGO_LOCK_PATH = "${S}/Cargo.lock"
CARGO_LOCK_SRC_DIR = "${S}"

# Our own code: no CVE entries exist for it.
CVE_PRODUCT = ""

USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system kiosk; --system gpio; --system scanner"
USERADD_PARAM:${PN} = "--system --home-dir /data/kiosk --no-create-home --shell /sbin/nologin --gid kiosk kiosk"

SYSTEMD_SERVICE:${PN} = "kiosk.service kiosk-health.service kiosk-provision.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

do_install:append() {
    dist=${S}/firmware/dist

    install -d ${D}${systemd_system_unitdir}
    install -m 0644 $dist/kiosk.service $dist/kiosk-health.service $dist/kiosk-provision.service \
        ${D}${systemd_system_unitdir}/

    install -d ${D}${libexecdir}/kiosk
    install -m 0755 $dist/kiosk-health $dist/kiosk-provision-file ${D}${libexecdir}/kiosk/

    install -d ${D}${nonarch_base_libdir}/udev/rules.d
    install -m 0644 $dist/70-kiosk-devices.rules $dist/72-kiosk-links.rules \
        ${D}${nonarch_base_libdir}/udev/rules.d/

    install -D -m 0644 $dist/kiosk.sysusers ${D}${nonarch_libdir}/sysusers.d/kiosk.conf
    install -D -m 0644 $dist/kiosk.tmpfiles ${D}${nonarch_libdir}/tmpfiles.d/kiosk.conf
    install -D -m 0644 $dist/65-kiosk-fonts.conf ${D}${sysconfdir}/fonts/conf.d/65-kiosk-fonts.conf

    install -d ${D}${docdir}/${BPN}
    install -m 0644 $dist/71-kiosk-pin.rules.example ${S}/image/yocto/docs/technician-guide.md \
        ${D}${docdir}/${BPN}/
}

FILES:${PN} += "${libexecdir}/kiosk \
                ${nonarch_base_libdir}/udev/rules.d \
                ${nonarch_libdir}/sysusers.d \
                ${nonarch_libdir}/tmpfiles.d \
                "

RDEPENDS:${PN} += "fontconfig fonts-noto-cjk-sc libinput libxkbcommon"
RRECOMMENDS:${PN} += "sane-backends"

# A device binary: no native or SDK variant.
BBCLASSEXTEND = ""
