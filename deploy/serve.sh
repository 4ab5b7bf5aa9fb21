#!/usr/bin/env bash
# Serve rnnviz as REPLICAS Streamlit processes behind nginx, all on loopback (this machine).
#
#   deploy/serve.sh                          # 2 replicas on 8501-8502, the balancer on 127.0.0.1:8500
#   PORT=9000 REPLICAS=3 deploy/serve.sh     # ports PORT+1 .. PORT+REPLICAS for the replicas
#   WORKER_MACHINES=2 deploy/serve.sh        # the training queue in Redis (redis-server on 127.0.0.1:PORT+99),
#                                            # run by 2 worker "machines" (RNNVIZ_WORKERS trainings at once each)
#
# Every replica shares one model store ($RNNVIZ_MODELS, default a fresh temp folder) and one cookie
# secret (STREAMLIT_SERVER_COOKIE_SECRET: uploads carry an XSRF token signed with it); the path box is off (the replicas listen on loopback, but serve everyone through nginx).
# Without WORKER_MACHINES, training slots are machine-wide file locks: RNNVIZ_WORKERS trainings at once in all
# replicas together. With it, the replicas run no training: they queue it in Redis (RNNVIZ_QUEUE_URL), kept in
# an append-only file in the run folder, and each stand-in machine (python -m rnnviz.serving.redis_worker, a process
# tree of its own) runs RNNVIZ_WORKERS of them at once.
# A replica that stops (a crash, a kill) is started again at once; its visitors' pages reconnect to another
# replica meanwhile (deploy/README.md). Ctrl-C (or SIGTERM) stops the balancer and every replica.
# See deploy/README.md for several machines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8500}
REPLICAS=${REPLICAS:-2}
WORKER_MACHINES=${WORKER_MACHINES:-0}
LISTEN=${LISTEN:-127.0.0.1:$PORT}
RUN=$(mktemp -d -t rnnviz-deploy-XXXXXX)
mkdir -p "$RUN/temp"
export RNNVIZ_MODELS=${RNNVIZ_MODELS:-$RUN/models}
export RNNVIZ_PATH_BOX=${RNNVIZ_PATH_BOX:-off}
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$(python -c 'import secrets; print(secrets.token_hex(32))')}

pids=()
worker_pids=()
stop() {
    trap - EXIT INT TERM
    kill "${pids[@]}" 2>/dev/null || true
    sleep 1 && kill "${worker_pids[@]}" 2>/dev/null || true  # twice: RQ's workers then end their jobs too
    wait 2>/dev/null || true
    rm -rf "$RUN/temp"
}
trap stop EXIT INT TERM

cd "$ROOT"
if ((WORKER_MACHINES > 0)); then
    redis_port=$((PORT + 99))
    mkdir -p "$RUN/redis"
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$RUN/redis" --appendonly yes --save "" \
        >"$RUN/redis.log" 2>&1 &
    pids+=($!)
    until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do
        sleep 0.2
        kill -0 "${pids[-1]}" 2>/dev/null || { cat "$RUN/redis.log"; exit 1; }
    done
    export RNNVIZ_QUEUE_URL=redis://127.0.0.1:$redis_port/0
    for ((m = 1; m <= WORKER_MACHINES; m++)); do
        nice -n 19 python -m rnnviz.serving.redis_worker >"$RUN/worker-$m.log" 2>&1 &
        pids+=($!)
        worker_pids+=($!)
    done
fi

replica() {  # replica $1 on port $2, started again whenever it stops (a crash, a kill), as a service manager would
    local streamlit=""
    trap 'kill "$streamlit" 2>/dev/null; exit 0' TERM INT
    while true; do
        python -m streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port "$2" \
            --server.fileWatcherType none --browser.gatherUsageStats false >>"$RUN/replica-$1.log" 2>&1 &
        streamlit=$!
        echo "$streamlit" >"$RUN/replica-$1.pid"  # the replica's process, for an operator (or a test) to find
        wait "$streamlit" || true
        echo "rnnviz: replica $1 stopped; starting it again" >>"$RUN/replica-$1.log"
        sleep 1
    done
}

replicas=""
for ((i = 1; i <= REPLICAS; i++)); do
    port=$((PORT + i))
    replica "$i" "$port" &
    pids+=($!)
    replicas+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
done
REPLICA_LINES=$replicas LISTEN=$LISTEN awk '/@REPLICAS@/ { printf "%s", ENVIRON["REPLICA_LINES"]; next }
    { gsub(/@LISTEN@/, ENVIRON["LISTEN"]); print }' "$ROOT/deploy/nginx.conf" >"$RUN/nginx.conf"
if [ "$(id -u)" = 0 ]; then chown -R nobody:nogroup "$RUN/temp"; fi  # nginx's workers drop root
nginx -p "$RUN" -c "$RUN/nginx.conf" -g "daemon off;" &
pids+=($!)

for ((i = 1; i <= REPLICAS; i++)); do
    for ((tries = 0; ; tries++)); do  # up to 2 minutes each (a replica that cannot start is started again)
        curl -sf "http://127.0.0.1:$((PORT + i))/_stcore/health" >/dev/null && break
        ((tries < 240)) || { cat "$RUN/replica-$i.log"; exit 1; }
        sleep 0.5
    done
done
echo "rnnviz: $REPLICAS replicas behind http://$LISTEN (models in $RNNVIZ_MODELS, logs in $RUN${RNNVIZ_QUEUE_URL:+, \
training queue $RNNVIZ_QUEUE_URL and $WORKER_MACHINES worker machines})"
wait -n "${pids[@]}"  # the balancer, Redis or a worker machine stopped: stop them all
