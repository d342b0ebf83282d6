SUMMARY = "Kiosk OS glue: data partition, hardware watchdog, persistent journal"
DESCRIPTION = "Growing the data partition on first boot, the \
folders the read-only root expects on /data, systemd's hardware watchdog and a persistent \
journal on the data partition."
HOMEPAGE = "https://kiosk.invalid/"
SECTION = "base"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

SRC_URI = " \
    file://kiosk-grow-data \
    file://kiosk-grow-data.service \
    file://kiosk-data-layout.service \
    file://kiosk-watchdog.conf \
    file://kiosk-journald.conf \
"

S = "${UNPACKDIR}"

inherit systemd allarch

SYSTEMD_SERVICE:${PN} = "kiosk-grow-data.service kiosk-data-layout.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

do_install() {
    install -D -m 0755 ${S}/kiosk-grow-data ${D}${libexecdir}/kiosk-os/kiosk-grow-data
    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${S}/kiosk-grow-data.service ${S}/kiosk-data-layout.service ${D}${systemd_system_unitdir}/
    install -D -m 0644 ${S}/kiosk-watchdog.conf ${D}${systemd_unitdir}/system.conf.d/50-kiosk-watchdog.conf
    install -D -m 0644 ${S}/kiosk-journald.conf ${D}${systemd_unitdir}/journald.conf.d/50-kiosk.conf
    install -d ${D}/boot/firmware ${D}/data
    # The screen belongs to the kiosk: no login prompt on the display.
    install -d ${D}${sysconfdir}/systemd/system
    ln -sf /dev/null ${D}${sysconfdir}/systemd/system/getty@tty1.service
}

FILES:${PN} += " \
    ${libexecdir}/kiosk-os \
    ${systemd_unitdir}/system.conf.d \
    ${systemd_unitdir}/journald.conf.d \
    /boot/firmware \
    /data \
"

RDEPENDS:${PN} += "util-linux-sfdisk util-linux-partx e2fsprogs-resize2fs"
