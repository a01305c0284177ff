#!/usr/bin/env bash
# Start the machine's PostgreSQL and Redis if they are installed but stopped, and
# install LibreOffice (for rendering the workbook in tests) and Chromium (for the browser test
# of the Leveringen page) if apt is available.
# Never fails: tests that need a missing service skip with a clear reason.
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || echo "ensure-services: could not start PostgreSQL"
fi
if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "ensure-services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || echo "ensure-services: could not start Redis"
fi
if ! command -v soffice >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-services: installing LibreOffice Calc and poppler-utils (about a minute)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libreoffice-calc poppler-utils) >/tmp/ensure-services-apt.log 2>&1 \
       || echo "ensure-services: LibreOffice could not be installed (see /tmp/ensure-services-apt.log); rendering tests will skip"
  else
    echo "ensure-services: LibreOffice not installed and no root/apt; rendering tests will skip"
  fi
fi
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-services: installing Chromium for the browser test of the Leveringen page (about a minute)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       chromium fonts-dejavu-core) >/tmp/ensure-services-chromium.log 2>&1 \
       || echo "ensure-services: Chromium could not be installed (see /tmp/ensure-services-chromium.log); the browser test will skip"
  else
    echo "ensure-services: Chromium not installed and no root/apt; the browser test will skip"
  fi
fi
exit 0
