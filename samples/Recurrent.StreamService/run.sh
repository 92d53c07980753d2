#!/usr/bin/env bash
# Starts the stream service on loopback, runs the load generator against it, stops the service.
#   samples/Recurrent.StreamService/run.sh [load generator arguments, e.g. --streams 32 --chunks 50 --steps 4 --chaos]
# Builds both (Release) unless RECURRENT_NO_BUILD=1. The service's port: RECURRENT_PORT (default 5089); its idle
# timeout: RECURRENT_IDLE_SECONDS (default 300; pass --expect-idle-close with the same value to check it).
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${RECURRENT_PORT:-5089}
if [ "${RECURRENT_NO_BUILD:-0}" != 1 ]; then
    dotnet build samples/Recurrent.StreamService -c Release -v q -nologo >/dev/null
    dotnet build samples/Recurrent.StreamLoad -c Release -v q -nologo >/dev/null
fi
dotnet samples/Recurrent.StreamService/bin/Release/net10.0/Recurrent.StreamService.dll --urls "http://127.0.0.1:$port" --idle-seconds "${RECURRENT_IDLE_SECONDS:-300}" > /tmp/recurrent-stream-service.log 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 $service 2>/dev/null || { cat /tmp/recurrent-stream-service.log; echo "error: the service did not start" >&2; exit 1; }
    sleep 0.2
done
dotnet samples/Recurrent.StreamLoad/bin/Release/net10.0/Recurrent.StreamLoad.dll --url "http://127.0.0.1:$port" "$@"
