# nooelint: oelint.var.suggestedvar.BUGTRACKER
# (the kiosk has no public web site or bug tracker; its home is this repository)
SUMMARY = "Village service-station kiosk: the SD card image"
DESCRIPTION = "Read-only root with the kernel inside (slot A of an A/B pair), a FAT boot \
               partition and a data partition that grows to fill the card; boots \
               straight into the kiosk."
SECTION = "kiosk"
LICENSE = "MIT"

inherit core-image image_types_kiosk

CVE_PRODUCT = ""

# No package-management: nothing is installed on the device except whole RAUC bundles.
IMAGE_FEATURES = "read-only-rootfs"

# libubootenv-bin (fw_printenv/fw_setenv) and u-boot-env (/etc/fw_env.config) let RAUC
# write U-Boot's slot order and try counters: meta-rauc only adds them when
# PREFERRED_PROVIDER_virtual/bootloader names U-Boot, which meta-raspberrypi leaves unset.
IMAGE_INSTALL = "packagegroup-core-boot \
                 kernel-image \
                 kernel-modules \
                 kiosk \
                 kiosk-doc \
                 kiosk-os \
                 rauc \
                 rauc-mark-good \
                 libubootenv-bin \
                 u-boot-env \
                 fonts-noto-cjk-sc \
                 sane-backends \
                 ${CORE_IMAGE_EXTRA_INSTALL} \
                 "

IMAGE_LINGUAS = ""

# ext4 first: it is the slot image the RAUC bundle carries (RAUC_IMAGE_FSTYPE).
IMAGE_FSTYPES = "ext4 wic.bz2 wic.bmap img.xz"
WKS_FILE = "kiosk-sdimage.wks.in"

# Each root slot (A and B) has this fixed size; a release must fit it.
KIOSK_ROOTFS_SLOT_SIZE ?= "1536M"
WICVARS:append = " KIOSK_ROOTFS_SLOT_SIZE"
