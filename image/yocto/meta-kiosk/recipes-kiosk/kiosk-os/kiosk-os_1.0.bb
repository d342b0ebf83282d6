# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.suggestedvar.BUGTRACKER
# (the kiosk has no public web site or bug tracker; its home is this repository)
SUMMARY = "Kiosk OS glue: data partition, hardware watchdog, persistent journal"
DESCRIPTION = "Grows the data partition on first boot, creates the folders the read-only \
               root expects on /data, lets systemd pet the hardware watchdog and keeps \
               the journal on the data partition."
SECTION = "base"
LICENSE = "MIT"
# nooelint: oelint.var.licenseremotefile - every file of this recipe is in this layer (MIT)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

SRC_URI = "file://kiosk-grow-data \
           file://kiosk-grow-data.service \
           file://kiosk-data-layout.service \
           file://kiosk-watchdog.conf \
           file://kiosk-journald.conf \
           "

S = "${UNPACKDIR}"

inherit systemd allarch

CVE_PRODUCT = ""

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

FILES:${PN} += "${libexecdir}/kiosk-os \
                ${systemd_unitdir}/system.conf.d \
                ${systemd_unitdir}/journald.conf.d \
                /boot/firmware \
                /data \
                "

RDEPENDS:${PN} += "e2fsprogs-resize2fs util-linux-partx util-linux-sfdisk"

# Device configuration: no native or SDK variant.
BBCLASSEXTEND = ""
