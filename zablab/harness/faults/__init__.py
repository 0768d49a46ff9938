"""Faults: the nemesis schedule, partition shapes, iptables rules, the userspace proxy and the clock."""
