"""The cache backends of quicktakes.cache."""

import os

import pytest

from quicktakes.cache import FolderCache, SharedRedisCache

REDIS_URL = os.environ.get("REDIS_URL")


def test_the_redis_backend_makes_its_client_once():
    cache = SharedRedisCache("redis://127.0.0.1:6379/5", {"KEY_PREFIX": "test-client"})
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client("some-key") is client


def test_each_server_has_its_own_client():
    servers = "redis://127.0.0.1:6379/5;redis://127.0.0.1:6380/5"
    cache = SharedRedisCache(servers, {"KEY_PREFIX": "test-client"})
    writes = cache._cache.get_client(write=True)
    reads = cache._cache.get_client(write=False)  # the second server: reads only
    assert reads is not writes
    assert reads.connection_pool.connection_kwargs["port"] == 6380
    assert cache._cache.get_client(write=False) is reads


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL")
def test_the_redis_backend_stores_and_reads_as_djangos_does():
    cache = SharedRedisCache(REDIS_URL, {"KEY_PREFIX": f"test-backend-{os.getpid()}"})
    try:
        cache.set_many({"a": 1, "b": (2, b"page", [("ETag", '"x"')])}, 60)
        assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": (2, b"page", [("ETag", '"x"')])}
        assert cache.add("a", 5) is False
        assert cache.add("c", 3) is True
    finally:
        cache.delete_many(["a", "b", "c"])


def test_the_folder_cache_sets_many_keys_in_one_transaction(tmp_path):
    cache = FolderCache(str(tmp_path), {"SHARDS": 4})
    commits = []
    for shard in cache._cache._shards:
        shard._con.set_trace_callback(
            lambda sql: commits.append(sql) if sql.upper().startswith("COMMIT") else None
        )
    tags = {f"articles:tag:page-{n}": n for n in range(200)}
    assert cache.set_many(tags, 60) == []
    assert cache.get_many([*tags, "absent"]) == tags
    # One commit a shard, not one a key.
    assert 0 < len(commits) <= 4
