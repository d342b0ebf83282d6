# Our fw_env.config (the boot partition is mounted at /boot/firmware) replaces
# meta-raspberrypi's; this layer's higher priority puts its files first.
FILESEXTRAPATHS:prepend:village-kiosk := "${THISDIR}/files:"
