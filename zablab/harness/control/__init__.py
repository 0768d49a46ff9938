"""How the harness reaches a node: the Remote interface, local processes, SSH, and leftover-state files."""
