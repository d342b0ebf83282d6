# The kiosk's fstab (A/B roots, FAT at /boot/firmware, /data) replaces oe-core's stock one.
FILESEXTRAPATHS:prepend:village-kiosk := "${THISDIR}/files:"
