#!/usr/bin/env bash
# The local cluster: every engine replicated, on loopback, from the same packages as the
# single-node stack (stack/stack.sh), on other ports so both run side by side.
#
#   stack/cluster.sh up [NODE...]     install what is missing, start what is not running, wait
#   stack/cluster.sh down [NODE...]   stop gracefully (data is kept)
#   stack/cluster.sh kill NODE...     kill -9 (the chaos run's fault)
#   stack/cluster.sh status           one line per node
#   stack/cluster.sh env              the app's variables for this cluster (eval "$(… env)")
#   stack/cluster.sh logs NODE        the tail of a node's log
#   stack/cluster.sh destroy          stop everything and delete the cluster's data
#
# NODE is kafka-1, kafka-2, kafka-3 (KRaft, each broker and controller; topics replicated 3
# times, min.insync.replicas 2), es-1, es-2 (data nodes; indices with one replica) and
# es-tiebreaker (master-eligible, no data: with two master-eligible nodes the cluster loses
# its master with the one that votes, so a third, small one lets either data node die),
# pg-primary and pg-replica (a streaming replica made by pg_basebackup -R). stripe-mock is the
# single stack's (127.0.0.1:12111): it keeps no state worth replicating.
#
# `up` is idempotent: a node that answers is left alone. Data and logs live in
# $JOBBOARD_CLUSTER_DIR (default .stack/cluster); downloads are shared with stack.sh in
# $JOBBOARD_CACHE_DIR (default /var/cache/jobboard).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_DIR=${JOBBOARD_CLUSTER_DIR:-$ROOT/.stack/cluster}
CACHE_DIR=${JOBBOARD_CACHE_DIR:-/var/cache/jobboard}
JAVA17=${JAVA17_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
KAFKA_VERSION=4.1.1
ES_VERSION=8.19.21
ES_USER=jobboard-es
PG_USER=jobboard PG_PASSWORD=jobboard

# Ports: the single stack's plus 10000.
KAFKA_PORTS=(19092 19093 19094) KAFKA_CONTROLLER_PORTS=(19192 19193 19194)
ES_HTTP=(19200 19201 19202) ES_TRANSPORT=(19300 19301 19302)
PG_PRIMARY_PORT=15432 PG_REPLICA_PORT=15433
KAFKA_HEAP=${JOBBOARD_CLUSTER_KAFKA_HEAP:-384m}
ES_HEAP=${JOBBOARD_CLUSTER_ES_HEAP:-512m}

NODES=(pg-primary pg-replica kafka-1 kafka-2 kafka-3 es-1 es-2 es-tiebreaker)

say() { printf '%s\n' "$*" >&2; }
die() { say "cluster: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# node_dir NODE USER: as stack.sh's engine_dir, a directory the engine's user can reach.
node_dir() {
  local node=$1 user=$2 dir=$CLUSTER_DIR/$1
  if [ -L "$dir" ] || { [ ! -e "$dir" ] && ! runuser -u "$user" -- test -x "$CLUSTER_DIR" 2>/dev/null; }; then
    local real
    real=/var/lib/jobboard-stack/$(printf '%s' "$CLUSTER_DIR" | sha1sum | cut -c1-12)/$node
    mkdir -p "$real"
    chmod 755 "$(dirname "$real")" /var/lib/jobboard-stack
    [ -L "$dir" ] || ln -s "$real" "$dir"
    dir=$real
  fi
  mkdir -p "$dir"
  chown "$user" "$dir"
  printf '%s' "$dir"
}

# wait_until NODE SECONDS CHECK...: polls CHECK until it succeeds.
wait_until() {
  local node=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 2))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  say "cluster: $node did not become healthy in ${secs}s"
  tail -n 30 "$(log_of "$node")" >&2 2>/dev/null || true
  exit 1
}

kill_pidfile() { # kill_pidfile FILE SIGNAL
  local f=$1 sig=$2 pid
  pid_alive "$f" || { rm -f "$f"; return 0; }
  pid=$(cat "$f")
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: a primary and a streaming replica of it.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
pg_port() { case $1 in pg-primary) echo $PG_PRIMARY_PORT ;; pg-replica) echo $PG_REPLICA_PORT ;; esac; }
pg_check() { PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$(pg_port "$1")" -U $PG_USER -d jobboard -tAc 'SELECT 1' 2>/dev/null | grep -q 1; }
# The replica is healthy once it is in recovery and streaming from the primary.
pg_replica_check() {
  PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p $PG_PRIMARY_PORT -U $PG_USER -d jobboard -tAc \
    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null | grep -qx '[1-9][0-9]*' &&
  PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p $PG_REPLICA_PORT -U $PG_USER -d jobboard -tAc 'SELECT pg_is_in_recovery()' 2>/dev/null | grep -qx t
}

pg_start() { # pg_start NODE DIR
  local bin
  bin=$(pg_bin)
  rm -f "$2/data/postmaster.pid.stale"
  runuser -u postgres -- "$bin/pg_ctl" -D "$2/data" -l "$2/postgres.log" -w -t 90 start >/dev/null 2>&1 \
    || { tail -n 20 "$2/postgres.log" >&2; die "$1: pg_ctl start failed"; }
}

pg_primary_up() {
  [ -n "$(pg_bin)" ] || die "no PostgreSQL binaries: run stack/stack.sh up postgres once (it installs Debian's package)"
  local bin dir
  bin=$(pg_bin)
  dir=$(node_dir pg-primary postgres)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir/data" "$dir/run"; chown -R postgres "$dir"
    runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || die "pg-primary: initdb failed (see $dir/initdb.log)"
    cat >>"$dir/data/postgresql.conf" <<EOF
# jobboard local cluster: the primary
listen_addresses = '127.0.0.1'
port = $PG_PRIMARY_PORT
unix_socket_directories = '$dir/run'
max_connections = 300
shared_buffers = 128MB
wal_level = replica
max_wal_senders = 5
wal_keep_size = 512MB
hot_standby = on
hot_standby_feedback = on
log_timezone = 'UTC'
timezone = 'UTC'
EOF
  fi
  mkdir -p "$dir/run"; chown postgres "$dir/run"
  pg_start pg-primary "$dir"
  runuser -u postgres -- psql -h "$dir/run" -p $PG_PRIMARY_PORT -U postgres -d postgres -v ON_ERROR_STOP=1 -q >/dev/null <<EOF
SELECT 'CREATE ROLE $PG_USER LOGIN SUPERUSER REPLICATION PASSWORD ''$PG_PASSWORD'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER') \gexec
SELECT 'CREATE DATABASE jobboard OWNER $PG_USER'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'jobboard') \gexec
EOF
  wait_until pg-primary 60 pg_check pg-primary
}

pg_replica_up() {
  local bin dir
  bin=$(pg_bin)
  pg_check pg-primary || die "pg-replica needs pg-primary up"
  dir=$(node_dir pg-replica postgres)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    rm -rf "$dir/data"; mkdir -p "$dir/run"; chown -R postgres "$dir"
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL of the copy.
    runuser -u postgres -- env PGPASSWORD=$PG_PASSWORD "$bin/pg_basebackup" -h 127.0.0.1 -p $PG_PRIMARY_PORT \
      -U $PG_USER -D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 \
      || die "pg-replica: pg_basebackup failed (see $dir/basebackup.log)"
    cat >>"$dir/data/postgresql.conf" <<EOF
# jobboard local cluster: the streaming replica (these lines override the primary's above)
port = $PG_REPLICA_PORT
unix_socket_directories = '$dir/run'
EOF
  fi
  mkdir -p "$dir/run"; chown postgres "$dir/run"
  pg_start pg-replica "$dir"
  wait_until pg-replica 60 pg_replica_check
}

pg_pidfile() { echo "$CLUSTER_DIR/$1/data/postmaster.pid"; }
pg_down() {
  local dir=$CLUSTER_DIR/$1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
pg_kill() {
  local f pid
  f=$(pg_pidfile "$1")
  [ -f "$f" ] || return 0
  pid=$(head -n 1 "$f")
  # The postmaster and every backend: a crash of the whole server, as a lost machine.
  pkill -9 -P "$pid" 2>/dev/null || true
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
}

# ---------------------------------------------------------------------------------------------
# Kafka: three KRaft nodes, each broker and controller; one cluster id for all.

kafka_libs() {
  local libs=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
  [ -f "$libs/.complete" ] || die "no Kafka jars in $libs: run stack/stack.sh up kafka once"
  printf '%s' "$libs"
}

probe_bin() {
  local bin=$CLUSTER_DIR/bin/probe
  if [ ! -x "$bin" ] || [ "$ROOT/stack/probe/main.go" -nt "$bin" ]; then
    mkdir -p "$CLUSTER_DIR/bin"
    (cd "$ROOT" && go build -o "$bin" ./stack/probe) || die "cannot build stack/probe"
  fi
  printf '%s' "$bin"
}

kafka_index() { echo $(( ${1#kafka-} - 1 )); }
kafka_port() { echo "${KAFKA_PORTS[$(kafka_index "$1")]}"; }
# A broker is healthy when it answers metadata naming a controller and a quorum of brokers.
kafka_check() { "$(probe_bin)" "127.0.0.1:$(kafka_port "$1")" | grep -Eq 'brokers=[23] controller=[123]'; }

kafka_start() {
  local node=$1 i libs dir voters id
  i=$(kafka_index "$node"); id=$((i + 1))
  libs=$(kafka_libs)
  dir=$CLUSTER_DIR/$node
  mkdir -p "$dir/data"
  voters="1@127.0.0.1:${KAFKA_CONTROLLER_PORTS[0]},2@127.0.0.1:${KAFKA_CONTROLLER_PORTS[1]},3@127.0.0.1:${KAFKA_CONTROLLER_PORTS[2]}"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORTS[$i]},CONTROLLER://127.0.0.1:${KAFKA_CONTROLLER_PORTS[$i]}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORTS[$i]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
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
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
EOF
  if [ ! -f "$dir/data/meta.properties" ]; then
    [ -f "$CLUSTER_DIR/kafka-cluster-id" ] ||
      "$JAVA17/bin/java" -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null >"$CLUSTER_DIR/kafka-cluster-id"
    "$JAVA17/bin/java" -cp "$libs/*" -Dlog4j2.configurationFile="$dir/log4j2.properties" kafka.tools.StorageTool format \
      -t "$(cat "$CLUSTER_DIR/kafka-cluster-id")" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || die "$node: storage format failed (see $dir/format.log)"
  fi
  setsid nohup "$JAVA17/bin/java" "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$libs/*" \
    kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
}

# ---------------------------------------------------------------------------------------------
# Elasticsearch: two data nodes and a master-only tiebreaker, one cluster.

es_index() { case $1 in es-1) echo 0 ;; es-2) echo 1 ;; es-tiebreaker) echo 2 ;; esac; }
es_port() { echo "${ES_HTTP[$(es_index "$1")]}"; }
# A node is healthy when it answers the cluster's health: it has joined a cluster with a master.
es_check() {
  curl -sf "http://127.0.0.1:$(es_port "$1")/_cluster/health?timeout=1s" | grep -q '"number_of_nodes":[23]'
}

es_start() {
  local node=$1 i home dir roles heap=$ES_HEAP
  i=$(es_index "$node")
  home=$CACHE_DIR/elasticsearch-$ES_VERSION
  [ -f "$home/.complete" ] || die "no Elasticsearch in $home: run stack/stack.sh up elasticsearch once"
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  dir=$(node_dir "$node" "$ES_USER")
  mkdir -p "$dir/config/jvm.options.d" "$dir/data" "$dir/logs" "$dir/tmp"
  cp -n "$home/config/"* "$dir/config/" 2>/dev/null || true
  # The initial master nodes bootstrap a new cluster once; a node with data must not have them.
  local bootstrap=""
  [ -n "$(ls -A "$dir/data" 2>/dev/null)" ] || bootstrap="cluster.initial_master_nodes: [es-1, es-2, es-tiebreaker]"
  roles="[master, data, ingest]"
  if [ "$node" = es-tiebreaker ]; then roles="[master]"; heap=256m; fi
  cat >"$dir/config/elasticsearch.yml" <<EOF
cluster.name: jobboard-cluster
node.name: $node
node.roles: $roles
network.host: 127.0.0.1
http.port: ${ES_HTTP[$i]}
transport.port: ${ES_TRANSPORT[$i]}
discovery.seed_hosts: ["127.0.0.1:${ES_TRANSPORT[0]}", "127.0.0.1:${ES_TRANSPORT[1]}", "127.0.0.1:${ES_TRANSPORT[2]}"]
$bootstrap
xpack.security.enabled: false
path.data: $dir/data
path.logs: $dir/logs
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  printf -- '-Xms%s\n-Xmx%s\n' "$heap" "$heap" >"$dir/config/jvm.options.d/heap.options"
  chown -R "$ES_USER" "$dir"
  runuser -u "$ES_USER" -- env ES_JAVA_HOME="$JAVA17" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
    "$home/bin/elasticsearch" -d -p "$dir/es.pid" >"$dir/logs/stdout.log" 2>&1 \
    || die "$node: it refused to start (see $dir/logs/stdout.log)"
}

# ---------------------------------------------------------------------------------------------

log_of() {
  case $1 in
    pg-*) echo "$CLUSTER_DIR/$1/postgres.log" ;;
    kafka-*) echo "$CLUSTER_DIR/$1/kafka.log" ;;
    es-*) echo "$CLUSTER_DIR/$1/logs/jobboard-cluster.log" ;;
  esac
}

pidfile_of() {
  case $1 in
    pg-*) pg_pidfile "$1" ;;
    kafka-*) echo "$CLUSTER_DIR/$1/kafka.pid" ;;
    es-*) echo "$CLUSTER_DIR/$1/es.pid" ;;
  esac
}

check() {
  case $1 in
    pg-primary) pg_check pg-primary ;;
    pg-replica) pg_replica_check ;;
    kafka-*) kafka_check "$1" ;;
    es-*) es_check "$1" ;;
    *) die "unknown node $1 (one of: ${NODES[*]})" ;;
  esac
}

addr_of() {
  case $1 in
    pg-*) echo "127.0.0.1:$(pg_port "$1")" ;;
    kafka-*) echo "127.0.0.1:$(kafka_port "$1")" ;;
    es-*) echo "http://127.0.0.1:$(es_port "$1")" ;;
  esac
}

known() { local n; for n in "${NODES[@]}"; do [ "$n" = "$1" ] && return 0; done; die "unknown node $1 (one of: ${NODES[*]})"; }

# cmd_up starts the nodes that are not running, then waits: Kafka and Elasticsearch nodes
# only become healthy together (a quorum, a master), so they are all started first.
cmd_up() {
  mkdir -p "$CLUSTER_DIR"
  local node start started=()
  start=$(now)
  for node in "$@"; do known "$node"; done
  for node in "$@"; do
    case $node in
      pg-primary) pg_check pg-primary || pg_primary_up ;;
      pg-replica) pg_replica_check || { pg_down pg-replica; pg_replica_up; } ;;
      kafka-*) pid_alive "$(pidfile_of "$node")" || { kafka_start "$node"; started+=("$node"); } ;;
      es-*) pid_alive "$(pidfile_of "$node")" || { es_start "$node"; started+=("$node"); } ;;
    esac
  done
  for node in "$@"; do
    case $node in
      kafka-*|es-*) wait_until "$node" 180 check "$node" ;;
    esac
    printf '%-14s %-24s up (%s)\n' "$node" "$(addr_of "$node")" "$(elapsed "$start")"
  done
}

cmd_down() {
  local node
  for node in "$@"; do
    known "$node"
    case $node in
      pg-*) pg_down "$node" ;;
      *) kill_pidfile "$(pidfile_of "$node")" TERM ;;
    esac
    printf '%-14s stopped\n' "$node"
  done
}

cmd_kill() {
  local node f
  for node in "$@"; do
    known "$node"
    case $node in
      pg-*) pg_kill "$node" ;;
      *)
        f=$(pidfile_of "$node")
        if pid_alive "$f"; then kill -9 "$(cat "$f")"; fi
        for _ in $(seq 1 20); do pid_alive "$f" || break; sleep 0.25; done
        rm -f "$f"
        ;;
    esac
    printf '%-14s killed\n' "$node"
  done
}

cmd_status() {
  local node rc=0
  for node in "${NODES[@]}"; do
    if check "$node" >/dev/null 2>&1; then
      printf '%-14s %-24s up\n' "$node" "$(addr_of "$node")"
    else
      printf '%-14s %-24s down\n' "$node" "$(addr_of "$node")"; rc=1
    fi
  done
  return $rc
}

cmd_env() {
  cat <<EOF
export DATABASE_URL='postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PRIMARY_PORT/jobboard?sslmode=disable'
export DATABASE_READ_URL='postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_REPLICA_PORT/jobboard?sslmode=disable'
export KAFKA_BROKERS='127.0.0.1:${KAFKA_PORTS[0]},127.0.0.1:${KAFKA_PORTS[1]},127.0.0.1:${KAFKA_PORTS[2]}'
export KAFKA_REPLICATION_FACTOR=3 KAFKA_MIN_INSYNC_REPLICAS=2
export ELASTICSEARCH_URL='http://127.0.0.1:${ES_HTTP[0]},http://127.0.0.1:${ES_HTTP[1]}'
export ELASTICSEARCH_SHARDS=1 ELASTICSEARCH_REPLICAS=1
EOF
}

[ "$(id -u)" = 0 ] || die "run as root: it starts engines as their own users"

action=${1:-up}; shift || true
case $action in
  up) [ $# -gt 0 ] || set -- "${NODES[@]}"; cmd_up "$@" ;;
  down) [ $# -gt 0 ] || set -- pg-replica es-tiebreaker es-2 es-1 kafka-3 kafka-2 kafka-1 pg-primary; cmd_down "$@" ;;
  kill) [ $# -gt 0 ] || die "usage: cluster.sh kill NODE..."; cmd_kill "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  logs) known "$1"; tail -n 100 "$(log_of "$1")" ;;
  destroy) cmd_down pg-replica es-tiebreaker es-2 es-1 kafka-3 kafka-2 kafka-1 pg-primary; rm -rf "${CLUSTER_DIR:?}"; say "cluster: data deleted" ;;
  *) die "usage: cluster.sh up|down|kill|status|env|logs|destroy [NODE...]" ;;
esac
