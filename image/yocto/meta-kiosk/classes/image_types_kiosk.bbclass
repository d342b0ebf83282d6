# The `img` image type: the wic disk image under the .img name Raspberry Pi Imager expects,
# so IMAGE_FSTYPES can ask for "img.xz" beside "wic.bz2 wic.bmap" (bmaptool).
IMAGE_TYPES += "img"
# nooelint: oelint.vars.specific - "img" is the image type this class defines
IMAGE_TYPEDEP:img = "wic"

IMAGE_CMD:img () {
    cp --sparse=always ${IMGDEPLOYDIR}/${IMAGE_NAME}.wic ${IMGDEPLOYDIR}/${IMAGE_NAME}.img
}
IMAGE_CMD:img[doc] = "Copy the wic disk image to the .img name Raspberry Pi Imager expects"
