# image.sh: test images for e2e tests. Source after rack.sh (or on its own); needs
# PROVISIONER_BIN (the build's bin directory, holding `imaging`).
#
#   image_make_raw FILE MIB        # MIB MiB: random, zero and compressible stretches
#   image_make_signed DIR MIB      # DIR/raw, DIR/key.{key,pub}, DIR/image (packed, signed)
#
# After image_make_signed: IMAGE_RAW, IMAGE_DIR, IMAGE_KEY, IMAGE_PUB, IMAGE_SHA256 (of raw).

: "${PROVISIONER_BIN:?set PROVISIONER_BIN to the bin directory of the build}"
IMAGING=${IMAGING:-$PROVISIONER_BIN/imaging}

# A disk-like mix in 4 MiB stripes: random (incompressible), zero (holes), text (compressible).
image_make_raw() {
    local file=$1 mib=$2 i
    : >"$file"
    for ((i = 0; i < mib; i += 4)); do
        case $(((i / 4) % 3)) in
            0) head -c $((4 << 20)) /dev/urandom >>"$file" ;;
            1) truncate -s +$((4 << 20)) "$file" ;;
            2) { yes "provisioner test image line $i $RANDOM" || true; } | head -c $((4 << 20)) >>"$file" ;;
        esac
    done
    truncate -s $((mib << 20)) "$file"
}

image_make_signed() {
    local dir=$1 mib=$2
    mkdir -p "$dir"
    IMAGE_RAW=$dir/raw
    IMAGE_KEY=$dir/key.key
    IMAGE_PUB=$dir/key.pub
    IMAGE_DIR=$dir/image
    image_make_raw "$IMAGE_RAW" "$mib"
    "$IMAGING" keygen --out "$dir/key" >/dev/null || return 1
    "$IMAGING" pack "$IMAGE_RAW" "$IMAGE_DIR" --key "$IMAGE_KEY" --level 3 >/dev/null || return 1
    IMAGE_SHA256=$(sha256sum "$IMAGE_RAW" | cut -d' ' -f1)
}

# image_check_output FILE: FILE holds exactly the raw image.
image_check_output() {
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$IMAGE_SHA256" ]
}
