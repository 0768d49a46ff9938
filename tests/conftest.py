"""Shared test helpers live in tests/ (import_graph, kazoo_suite): this conftest puts the
directory on sys.path, as pytest does for a rootdir conftest."""
