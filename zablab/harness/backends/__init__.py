"""Cluster provisioners: local processes, network namespaces, (later) Docker and SSH hosts."""
