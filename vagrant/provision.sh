#!/bin/sh
# Runs as root on each VM: what the harness needs to drive it (iptables for partitions,
# libfaketime for clock faults, python3 for the zablab node), root login by key, peer names.
# Usage: provision.sh NODES SUBNET WITH_ZOOKEEPER
set -eu
nodes=$1 subnet=$2 zookeeper=$3
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  openssh-server python3 iptables iproute2 faketime procps netbase
if [ "$zookeeper" = 1 ]; then
  mkdir -p /usr/share/man/man1
  apt-get install -y -q --no-install-recommends default-jre-headless zookeeper
fi
# the harness logs in as root with the key vagrant installed for its own user
install -d -m 700 /root/.ssh
install -m 600 /home/vagrant/.ssh/authorized_keys /root/.ssh/authorized_keys
sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/' /etc/ssh/sshd_config
systemctl reload ssh
# peers by name (the harness itself uses the addresses)
sed -i '/ # zablab$/d' /etc/hosts
i=1
while [ "$i" -le "$nodes" ]; do
  echo "$subnet.$((10 + i)) n$i # zablab" >> /etc/hosts
  i=$((i + 1))
done
