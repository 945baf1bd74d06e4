#!/usr/bin/env bash
# make audit-web: Lighthouse (npm, pinned in tools/web-audit/package-lock.json, installed by
# stack/stack.sh into bin/tools/web-audit) with Debian's Chromium, headless, against the search,
# job and post-a-job pages of a freshly started jobboard with a seeded board. It asserts
# performance >= 90, accessibility >= 95, best practices >= 90 and SEO >= 95 on every page
# (the median of AUDIT_RUNS runs, default 3, as Lighthouse's own guidance for variance on a
# loaded machine) and writes the scores to docs/WEB-AUDIT.md (tools/web-audit/report).
#
# It needs the engines of the local stack (make stack) and leaves them as they are: the server
# gets its own database, topics and index prefix, on a free loopback port, and is stopped (its
# database and indices dropped) at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

PG=${AUDIT_POSTGRES:-postgres://jobboard:jobboard@127.0.0.1:5432}
ES=${ELASTICSEARCH_URL:-http://127.0.0.1:9200}
RUNS=${AUDIT_RUNS:-3}
LIGHTHOUSE=bin/tools/web-audit/node_modules/.bin/lighthouse
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}

[ -x "$LIGHTHOUSE" ] || { echo "audit-web: $LIGHTHOUSE is missing: run make stack (stack/stack.sh installs it)"; exit 1; }
[ -x "$CHROME_PATH" ] || { echo "audit-web: no Chromium at $CHROME_PATH: run make stack (stack/stack.sh installs it)"; exit 1; }
go build -o bin/jobboard ./cmd/jobboard

suffix=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
db=jbaudit_$suffix
index_prefix=audit-$suffix-
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

# Every role runs (the web pages read the live projections). Secrets are per run; DEV_MODE
# gives the test-mode payment page the post-a-job flow leads to.
# The canonical links and JSON-LD name PUBLIC_BASE_URL: the server's own address here, so
# Lighthouse sees canonical links on the page's own origin (a free port, chosen beforehand).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="$PG/$db?sslmode=disable" HTTP_ADDR=127.0.0.1:$port PUBLIC_BASE_URL=http://127.0.0.1:$port LOG_LEVEL=warn DEV_MODE=true
export OPERATOR_TOKEN="audit-operator-$suffix-$suffix" STRIPE_WEBHOOK_SECRET="whsec_audit_$suffix"
export SIGNING_KEY="audit-signing-key-$suffix-$suffix-$suffix"
export KAFKA_TOPIC_PREFIX="audit-$suffix." KAFKA_PARTITIONS=1 ELASTICSEARCH_INDEX_PREFIX=$index_prefix
./bin/jobboard migrate up
# A board that is not empty: a synthetic history (companies, paid jobs, applications) that the
# projectors fold when the server starts, then one known job through the API.
./bin/jobboard seed --events "${AUDIT_SEED_EVENTS:-3000}" --seed 14 >/dev/null
./bin/jobboard serve 2>"$work/server.log" &
server=$!
url=
for _ in $(seq 1 300); do
	url=$(sed -n 's/^jobboard is serving on \([^ ]*\) .*/\1/p' "$work/server.log")
	[ -n "$url" ] && break
	kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
	sleep 0.1
done
[ -n "$url" ] || { echo "audit-web: the server did not start"; cat "$work/server.log"; exit 1; }
echo "audit-web: server on $url (database $db)"

go run ./tools/fuzz-api/seed -url "$url" -webhook-secret "$STRIPE_WEBHOOK_SECRET" >"$work/seed.env"
set -a
# shellcheck disable=SC1091
. "$work/seed.env"
set +a
# The post-a-job page is an employer's: a session from signing a company up through the pages
# and following its e-mailed link (tools/web-audit/session). The other pages are a visitor's.
cookie=$(go run ./tools/web-audit/session -url "$url" -signing-key "$SIGNING_KEY" -operator-token "$OPERATOR_TOKEN")

pages=("search=$url/?q=go" "job=$url/jobs/$FUZZ_JOB_ID" "post-a-job=$url/employer/jobs/new")
cookie_of() { if [ "$1" = post-a-job ]; then printf '%s' "$cookie"; fi; }
# The pages answer before they are audited (the seeded history is projected by then).
for page in "${pages[@]}"; do
	name=${page%%=*} target=${page#*=}
	for _ in $(seq 1 600); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $(cookie_of "$name")" "$target") || true
		[ "$code" = 200 ] && break
		sleep 0.1
	done
	[ "$code" = 200 ] || { echo "audit-web: $target answers $code"; exit 1; }
done

reports=()
for page in "${pages[@]}"; do
	name=${page%%=*} target=${page#*=}
	for run in $(seq 1 "$RUNS"); do
		out="$work/$name-$run.json"
		echo "audit-web: lighthouse $name ($run/$RUNS) $target"
		"$LIGHTHOUSE" "$target" --quiet --output=json --output-path="$out" \
			--only-categories=performance,accessibility,best-practices,seo \
			--extra-headers="{\"Cookie\": \"$(cookie_of "$name")\"}" \
			--chrome-flags="--headless=new --no-sandbox --disable-dev-shm-usage"
		reports+=("$name=$out")
	done
done
go run ./tools/web-audit/report -out docs/WEB-AUDIT.md "${reports[@]}"
