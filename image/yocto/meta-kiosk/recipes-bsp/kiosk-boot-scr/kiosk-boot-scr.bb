SUMMARY = "U-Boot script for the kiosk: RAUC A/B slot choice with a boot counter"
DESCRIPTION = "Chooses root slot A or B from the U-Boot environment RAUC maintains and \
loads the kernel from inside that slot's root file system."
HOMEPAGE = "https://kiosk.invalid/"
SECTION = "bootloaders"
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"
COMPATIBLE_MACHINE = "^rpi$"

DEPENDS = "u-boot-mkimage-native"
INHIBIT_DEFAULT_DEPS = "1"

SRC_URI = "file://boot.cmd.in"

S = "${UNPACKDIR}"

BOOT_MEDIA ?= "mmc"

inherit kernel-arch deploy nopackages

do_compile() {
    sed -e 's/@@KERNEL_IMAGETYPE@@/${KERNEL_IMAGETYPE}/' \
        -e 's/@@KERNEL_BOOTCMD@@/${KERNEL_BOOTCMD}/' \
        -e 's/@@BOOT_MEDIA@@/${BOOT_MEDIA}/' \
        ${UNPACKDIR}/boot.cmd.in > ${B}/boot.cmd
    mkimage -A ${UBOOT_ARCH} -T script -C none -n "kiosk A/B boot script" -d ${B}/boot.cmd ${B}/boot.scr
}

do_deploy() {
    install -d ${DEPLOYDIR}
    install -m 0644 ${B}/boot.scr ${DEPLOYDIR}
}

addtask deploy after do_compile before do_build

PROVIDES += "u-boot-default-script"
