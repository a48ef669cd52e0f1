"""Worker processes for the CPU-bound steps (parsing, decoding, rendering).

Workers never touch the database; results come back in input order.
"""

import multiprocessing
import os

from django.db import connection, connections


def parallel_map(
    function, items, workers=None, min_items=200, initializer=None, initargs=(), chunksize=32
):
    """Yield ``function(item)`` for each of ``items`` in order.

    ``workers``: processes (default one per CPU); with 1 or fewer, or fewer than
    ``min_items`` items, everything runs in this process, where worker start-up would
    cost more than it saves. ``initializer(*initargs)`` runs once in each worker (and
    once here when running inline). ``function`` and the results must pickle.
    ``chunksize``: items handed to a worker at a time (few large items want 1).
    Workers are forked: they see this process's module globals as they were.
    """
    if workers is None:
        workers = os.cpu_count() or 1
    if workers <= 1 or len(items) < min_items:
        if initializer is not None:
            initializer(*initargs)
        yield from map(function, items)
        return
    if not connection.in_atomic_block:
        # Forked children never use the database; closing first keeps them from even
        # holding the parent's connections.
        connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=initializer, initargs=initargs) as pool:
        yield from pool.imap(function, items, chunksize=chunksize)
