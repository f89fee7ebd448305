#!/usr/bin/env bash
# make demo: a master on the embedded job store, three local minions with
# their own data directories, real jobs through the API, then everything
# stopped. Run from the repository root after `make build`.
set -euo pipefail
B=$PWD/bin
D=$(mktemp -d /tmp/brine-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT

# Free ports, so the demo runs beside anything else on the machine.
read -r PUB REQ API < <(/usr/bin/env python3 - <<'PY'
import socket
s=[socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1",0))
print(*[x.getsockname()[1] for x in s])
PY
)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cat > "$D/master.yaml" <<YAML
id: demo-master
publish_addr: 127.0.0.1:$PUB
request_addr: 127.0.0.1:$REQ
api_addr: 127.0.0.1:$API
data_dir: $D/master
file_roots: {base: [$PWD/states]}
pillar_roots: {base: [$PWD/pillar]}
YAML
"$B/brine-master" -c "$D/master.yaml" >"$D/master.log" 2>&1 & pids+=($!)

export BRINE_API=http://127.0.0.1:$API
for i in $(seq 50); do [ -s "$D/master/admin.token" ] && break; sleep 0.1; done
export BRINE_TOKEN_FILE=$D/master/admin.token
ctl() { echo "\$ brinectl $*"; "$B/brinectl" "$@"; }

for n in web1 web2 db1; do
  cat > "$D/$n.yaml" <<YAML
id: $n
master: 127.0.0.1:$REQ
data_dir: $D/$n
acceptance_wait_time: 1s
grains: {role: ${n%[0-9]}}
YAML
  "$B/brine-minion" -c "$D/$n.yaml" >"$D/$n.log" 2>&1 & pids+=($!)
done

say "three minions knock: their keys are pending"
for i in $(seq 100); do
  [ "$("$B/brinectl" key list --out json | grep -c pending)" -ge 3 ] && break; sleep 0.1
done
ctl key list --out table
say "accept them"
ctl key accept --all --out table
for i in $(seq 100); do
  [ "$("$B/brinectl" minion list --out json | grep -c '"connected": true')" -ge 3 ] && break; sleep 0.1
done

say "ping every minion (returns as soon as all three answered)"
ctl run '*' test.ping
GRAIN=$("$B/brinectl" run web1 grains.get os_family --out json | sed -n 's/.*"return": "\(.*\)".*/\1/p' | head -1)
say "run a command on every minion whose os_family is $GRAIN"
ctl run -G "os_family:$GRAIN" cmd.run 'uname -sr'
say "a command that fails on the web servers only: exit status 1"
ctl run -C 'web* and G@role:web' cmd.run 'exit 3' || echo "(brinectl exited $?)"
say "job history, from the embedded job store"
ctl job list --out table

say "apply the example state tree to web1 through the master (files land under $D/web1-root)"
ctl state apply web1 exclude=web.users "pillar={\"demo\": {\"prefix\": \"$D/web1-root\"}}" --out highstate
say "apply it again: nothing left to change"
ctl state apply web1 exclude=web.users "pillar={\"demo\": {\"prefix\": \"$D/web1-root\"}}" --out json | grep -c '"changes": {}' | sed 's/^/states with no changes: /'

say "masterless, as CI tests a highstate: brine-minion --local state.apply test=True"
cat > "$D/local.yaml" <<YAML
id: ci-web
data_dir: $D/local
file_roots: {base: [$PWD/states]}
pillar_roots: {base: [$PWD/pillar]}
grains: {roles: [web]}
YAML
echo "\$ brine-minion --local -c local.yaml state.apply exclude=web.users test=True"
"$B/brine-minion" --local -c "$D/local.yaml" state.apply exclude=web.users test=True "pillar={\"demo\": {\"prefix\": \"$D/local-root\"}}" >"$D/local.out" || true
tail -8 "$D/local.out"
