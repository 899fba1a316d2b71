"""Plugin host internals (pluggy). Public names are re-exported from `remote_store`."""
