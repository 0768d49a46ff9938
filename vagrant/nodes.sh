#!/usr/bin/env bash
# One line after `vagrant up`: writes nodes, ssh_config and known_hosts here for
#   zablab test --backend ssh --nodes-file vagrant/nodes --ssh-config vagrant/ssh_config \
#     --known-hosts vagrant/known_hosts
# The host keys are recorded now, right after the VMs were made (trust on first use); from then
# on the harness refuses a host whose key changed.
set -euo pipefail
cd "$(dirname "$0")"
subnet=192.168.56
n=$(vagrant status --machine-readable | awk -F, '$3 == "state" && $4 == "running" {c++} END {print c + 0}')
[ "$n" -gt 0 ] || { echo "no running VMs; run 'vagrant up' first" >&2; exit 1; }
: > nodes
: > ssh_config
for i in $(seq 1 "$n"); do
  ip="$subnet.$((10 + i))"
  key=$(vagrant ssh-config "n$i" | awk '$1 == "IdentityFile" {print $2; exit}')
  echo "$ip" >> nodes
  printf 'Host %s\n  User root\n  IdentityFile %s\n\n' "$ip" "$key" >> ssh_config
done
ssh-keyscan -t ed25519 -f nodes > known_hosts 2>/dev/null
echo "wrote $(pwd)/nodes ($n hosts), ssh_config and known_hosts"
