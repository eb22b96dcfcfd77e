#!/bin/sh
# The trust soak (issue 9): an unprivileged attacker (user nobody) against
# root's fevd and traffic for SECONDS (default 300).  Not in ctest.  Needs
# root and a build: scripts/soak.sh [BUILD_DIR] [SECONDS]
set -eu
cd "$(dirname "$0")/.."
exec python3 tests/soak/trust_soak.py "${1:-build}" "${2:-300}"
