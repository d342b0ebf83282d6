# nooelint: oelint.var.mandatoryvar.HOMEPAGE,oelint.var.suggestedvar.BUGTRACKER
# (the kiosk has no public web site or bug tracker; its home is this repository)
SUMMARY = "U-Boot script for the kiosk: RAUC A/B slot choice with a boot counter"
DESCRIPTION = "Chooses root slot A or B from the U-Boot environment RAUC maintains and \
               loads the kernel from inside that slot's root file system."
SECTION = "bootloaders"
LICENSE = "MIT"
# nooelint: oelint.var.licenseremotefile - the script is in this layer (MIT)
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

DEPENDS = "u-boot-mkimage-native"
PROVIDES += "u-boot-default-script"

SRC_URI = "file://boot.cmd.in"

S = "${UNPACKDIR}"

inherit kernel-arch deploy nopackages

COMPATIBLE_MACHINE = "^rpi$"
INHIBIT_DEFAULT_DEPS = "1"
BOOT_MEDIA ?= "mmc"
CVE_PRODUCT = ""

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

# A boot script for the target board only.
BBCLASSEXTEND = ""
