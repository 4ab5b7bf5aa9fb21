#!/usr/bin/env bash
# Serve rnnviz as REPLICAS Streamlit processes behind nginx, all on loopback (this machine).
#
#   deploy/serve.sh                          # 2 replicas on 8501-8502, the balancer on 127.0.0.1:8500
#   PORT=9000 REPLICAS=3 deploy/serve.sh     # ports PORT+1 .. PORT+REPLICAS for the replicas
#
# Every replica shares one model store ($RNNVIZ_MODELS, default a fresh temp folder) and one cookie
# secret (STREAMLIT_SERVER_COOKIE_SECRET: uploads carry an XSRF token signed with it); the path box is off (the replicas listen on loopback, but serve everyone through nginx).
# Training slots are machine-wide file locks: RNNVIZ_WORKERS trainings at once in all replicas together.
# Ctrl-C (or SIGTERM) stops the balancer and every replica. See deploy/README.md for several machines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8500}
REPLICAS=${REPLICAS:-2}
LISTEN=${LISTEN:-127.0.0.1:$PORT}
RUN=$(mktemp -d -t rnnviz-deploy-XXXXXX)
mkdir -p "$RUN/temp"
export RNNVIZ_MODELS=${RNNVIZ_MODELS:-$RUN/models}
export RNNVIZ_PATH_BOX=${RNNVIZ_PATH_BOX:-off}
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$(python -c 'import secrets; print(secrets.token_hex(32))')}

pids=()
stop() {
    trap - EXIT INT TERM
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$RUN/temp"
}
trap stop EXIT INT TERM

replicas=""
cd "$ROOT"
for ((i = 1; i <= REPLICAS; i++)); do
    port=$((PORT + i))
    python -m streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port "$port" \
        --server.fileWatcherType none --browser.gatherUsageStats false \
        >"$RUN/replica-$i.log" 2>&1 &
    pids+=($!)
    replicas+="        server 127.0.0.1:$port max_fails=3 fail_timeout=10s;"$'\n'
done
REPLICA_LINES=$replicas LISTEN=$LISTEN awk '/@REPLICAS@/ { printf "%s", ENVIRON["REPLICA_LINES"]; next }
    { gsub(/@LISTEN@/, ENVIRON["LISTEN"]); print }' "$ROOT/deploy/nginx.conf" >"$RUN/nginx.conf"
if [ "$(id -u)" = 0 ]; then chown -R nobody:nogroup "$RUN/temp"; fi  # nginx's workers drop root
nginx -p "$RUN" -c "$RUN/nginx.conf" -g "daemon off;" &
pids+=($!)

for ((i = 1; i <= REPLICAS; i++)); do
    until curl -sf "http://127.0.0.1:$((PORT + i))/_stcore/health" >/dev/null; do
        sleep 0.5
        kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { cat "$RUN/replica-$i.log"; exit 1; }
    done
done
echo "rnnviz: $REPLICAS replicas behind http://$LISTEN (models in $RNNVIZ_MODELS, logs in $RUN)"
wait -n "${pids[@]}"  # one of them stopped: stop them all
