#!/usr/bin/env bash
# The PyTorch export tests run the exported Python with Debian's PyTorch (/usr/bin/python3 with
# python3-torch). Install it when it is missing and we are allowed to (root on Debian); otherwise
# say what to do: those tests then skip with a message, the rest still run.
set -euo pipefail
# libopenblas0-pthread: without it PyTorch's matrix products fall back to the reference BLAS, about
# 3× slower, which would flatter every benchmark against it.
if /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null && dpkg -s libopenblas0-pthread >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's python3-torch for the PyTorch export tests…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libopenblas0-pthread >/dev/null || echo "Could not install python3-torch; the PyTorch export tests will skip." >&2
else
  echo "The PyTorch export tests need Debian's python3-torch: run 'sudo apt-get install -y python3-torch'; until then they skip." >&2
fi
