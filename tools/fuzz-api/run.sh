#!/usr/bin/env bash
# make fuzz-api: run schemathesis (PyPI) with its default checks against the OpenAPI
# document a freshly started jobboard serves at /v1/openapi.json, and fail on any finding.
# It needs the engines of the local stack (make stack) and leaves them as they are: the
# server gets its own database, topics and index prefix, on a free loopback port, and is
# stopped (its database and indices dropped) at the end. Schemathesis lives in a project-local
# virtualenv (.venv-fuzz), pinned below; extra arguments go to `schemathesis run`.
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
VENV=.venv-fuzz
PG=${FUZZ_POSTGRES:-postgres://jobboard:jobboard@127.0.0.1:5432}
ES=${ELASTICSEARCH_URL:-http://127.0.0.1:9200}

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
	echo "fuzz-api: installing python3-venv"
	if [ "$(id -u)" = 0 ]; then apt-get install -y python3-venv; else sudo apt-get install -y python3-venv; fi
fi
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
go build -o bin/jobboard ./cmd/jobboard

suffix=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
db=jbfuzz_$suffix
index_prefix=fuzz-$suffix-
work=$(mktemp -d)
server=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; fi
	psql -q "$PG/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
	for index in $(curl -s "$ES/_cat/indices/$index_prefix*?h=index"); do curl -s -o /dev/null -X DELETE "$ES/$index"; done
	rm -rf "$work"
}
trap cleanup EXIT
psql -q "$PG/postgres?sslmode=disable" -c "CREATE DATABASE $db"

# Every role runs, so queries are answered from live projections. Secrets are per run; the
# rate limits are off so the run explores the routes rather than the limiter.
export DATABASE_URL="$PG/$db?sslmode=disable" HTTP_ADDR=127.0.0.1:0 LOG_LEVEL=warn
export OPERATOR_TOKEN="fuzz-operator-$suffix-$suffix" STRIPE_WEBHOOK_SECRET="whsec_fuzz_$suffix"
export SIGNING_KEY="fuzz-signing-key-$suffix-$suffix-$suffix"
export KAFKA_TOPIC_PREFIX="fuzz-$suffix." KAFKA_PARTITIONS=1 ELASTICSEARCH_INDEX_PREFIX=$index_prefix
export RATE_LIMIT_REGISTRATION=0 RATE_LIMIT_APPLICATION=0 RATE_LIMIT_SEARCH=0 RATE_LIMIT_EMPLOYER=0
# The search time budget is production's concern (its 503 is tested in make test); on a loaded
# 2-core machine a 2 s budget would be spent by the load, not by the request explored.
export SEARCH_TIMEOUT=30s
./bin/jobboard migrate up
./bin/jobboard serve 2>"$work/server.log" &
server=$!
url=
for _ in $(seq 1 300); do
	url=$(sed -n 's/^jobboard is serving on \([^ ]*\) .*/\1/p' "$work/server.log")
	[ -n "$url" ] && break
	kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
	sleep 0.1
done
[ -n "$url" ] || { echo "fuzz-api: the server did not start"; cat "$work/server.log"; exit 1; }
echo "fuzz-api: server on $url (database $db)"

go run ./tools/fuzz-api/seed -url "$url" -webhook-secret "$STRIPE_WEBHOOK_SECRET" >"$work/seed.env"
set -a
# shellcheck disable=SC1091
. "$work/seed.env"
set +a

# The dictionaries hold this run's values (schemathesis does not expand variables in them).
cat tools/fuzz-api/schemathesis.toml - >"$work/schemathesis.toml" <<TOML

[dictionaries.ids]
values = ["$FUZZ_JOB_ID", "$FUZZ_UNPAID_JOB_ID", "$FUZZ_COMPANY_ID", "$FUZZ_APPLICATION_ID"]
TOML
status=0
"$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$url/v1/openapi.json" "$@" || status=$?
if grep -q '"level":"ERROR"' "$work/server.log"; then
	echo "fuzz-api: the server logged errors:"; grep '"level":"ERROR"' "$work/server.log" | head -20
fi
exit $status
