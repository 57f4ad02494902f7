#!/usr/bin/env bash
# Optional system packages, installed when this user may: Chromium (for kaleido's static PNG export)
# and Debian's Fashion-MNIST IDX files. Without them the package still works: figures are written
# as HTML only, and load_dataset("fashion_mnist") explains how to get the files.
set -u
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || want+=(dataset-fashion-mnist)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${want[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}"; } >/dev/null 2>&1 \
    || echo "note: could not install ${want[*]}; figures fall back to HTML only"
else
  echo "note: optional system packages missing (${want[*]}); install them with: sudo apt-get install ${want[*]}"
fi
exit 0
