#!/usr/bin/env bash
# Installs every Debian package that building and testing pacsaudit needs.
# Run as root on Debian 12. Safe to run again. file and adduser are for the
# package (scripts/package-test.sh): CPack's dependency scan runs file, and the
# .deb's postinst adds the pacsaudit user with adduser. chromium (headless)
# and a Japanese font load and print the HTML report in its browser test.
# librelp-dev builds listen's relp:// endpoint; rsyslog and rsyslog-relp are
# the real RELP sender of its test (rsyslogd run by the test, not as a service).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  build-essential cmake pkg-config clang \
  libpcap-dev libpcre2-dev libsqlite3-dev libjansson-dev libcmocka-dev \
  libxml2-dev libssl-dev zlib1g-dev libzstd-dev librelp-dev \
  sqlite3 openssl ca-certificates tzdata \
  file adduser \
  rsyslog rsyslog-relp \
  chromium fonts-noto-cjk
