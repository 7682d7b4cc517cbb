#!/usr/bin/env bash
# Installs every Debian package that building and testing pacsaudit needs.
# Run as root on Debian 12. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config clang \
  libpcap-dev libpcre2-dev libsqlite3-dev libjansson-dev libcmocka-dev \
  libxml2-dev libssl-dev zlib1g-dev \
  sqlite3 openssl ca-certificates tzdata \
  chromium fonts-noto-cjk
