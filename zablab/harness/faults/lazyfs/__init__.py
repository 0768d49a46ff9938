"""A lazyfs-like FUSE filesystem: file data is durable only once fsynced, and the harness can
drop the rest, which is what a crash loses (see fs.py)."""
