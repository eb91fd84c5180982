"""The kernel-side client: the ``mm.*`` tracking API over a store (local today, remote later)."""
