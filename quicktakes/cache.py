"""The cache backends: diskcache's without Redis, kept open between requests; Django's Redis
backend with its client made once.

Django closes every cache when a request finishes; diskcache's close() shuts its SQLite
connections, so each request would open them again (about 1.5 ms a page, more than the
rest of a cache hit). Its connections are per thread and stay valid, so they are kept.

Django's Redis backend makes a new ``redis.Redis`` object for every command, and that
object fills a table of some 170 reply handlers as it is made: a fifth of what a page
served from the cache costs. A ``redis.Redis`` over a connection pool is safe to share,
so one is made per pool and kept.

Django's ``set_many`` sets one key after another, and diskcache commits each: marking an
import batch's pages stale (thousands of tag versions) took about 0.2 ms a key. The
folder cache sets them in one transaction.
"""

from diskcache import DjangoCache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class FolderCache(DjangoCache):
    def close(self, **kwargs):
        """Keep the connections open (see the module's docstring)."""

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        """Set every key of ``data`` in one transaction (other writers wait, readers do
        not). Returns the keys that could not be set, as Django's does."""
        with self._cache.transact(retry=True):
            return super().set_many(data, timeout, version)


class _KeptClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        """The ``redis.Redis`` of the pool a command goes to, made the first time only."""
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class SharedRedisCache(RedisCache):
    """Django's Redis cache (same settings and behaviour), one client per connection pool."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _KeptClient
