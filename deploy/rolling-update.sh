#!/usr/bin/env bash
# Roll a new datadesk version out behind nginx with no failed request (deploy/compose.yaml):
# build the image, migrate once, then replace app-a, wait until it is ready and nginx uses it
# again, then app-b. While one node restarts, nginx sends everything to the other.
# Run from a checkout of the new version: bash deploy/rolling-update.sh
set -euo pipefail
cd "$(dirname "$0")"

ready() {
  docker compose exec -T "$1" python -c \
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3)" \
    >/dev/null 2>&1
}

docker compose build migrate
docker compose run --rm migrate
for service in app-a app-b; do
  echo "rolling-update: replacing $service"
  # docker stop sends SIGTERM: the node refuses new connections at once (nginx moves on to
  # the other node) and finishes the requests it has, up to DATADESK_GRACEFUL_TIMEOUT.
  docker compose up -d --no-deps --force-recreate "$service"
  for _ in $(seq 1 120); do
    ready "$service" && break
    sleep 1
  done
  if ! ready "$service"; then
    echo "rolling-update: $service is not ready after 2 minutes; the other node keeps serving" >&2
    docker compose logs --tail 50 "$service" >&2
    exit 1
  fi
  # nginx skips a node for fail_timeout (5 s) after it refused a connection: wait until it is
  # back in rotation before taking the other node away.
  sleep 6
done
echo "rolling-update: done"
