"""Clients: kazoo sessions, the worker loop, and worker processes."""
