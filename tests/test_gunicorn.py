"""gunicorn's settings (quicktakes.gunicorn)."""

from unittest import mock

from quicktakes import gunicorn


def test_a_worker_opens_the_cache_and_loads_the_urlconf_before_its_first_request():
    with (
        mock.patch.object(gunicorn, "cache") as cache,
        mock.patch.object(gunicorn, "get_resolver") as get_resolver,
    ):
        gunicorn.post_worker_init(worker=None)
    get_resolver.return_value.resolve.assert_called_once_with("/")
    keys = cache.get_many.call_args.args[0]
    assert len(keys) >= 8  # enough to reach each of diskcache's shards


def test_the_warm_up_reads_and_writes_nothing_real(settings):
    gunicorn.post_worker_init(worker=None)  # against the test cache: no error, no entry
    assert gunicorn.cache.get_many(["warm-up:0"]) == {}


def test_a_server_of_another_application_is_left_alone():
    with (
        mock.patch.object(gunicorn.apps, "ready", False),
        mock.patch.object(gunicorn, "cache") as cache,
    ):
        gunicorn.post_worker_init(worker=None)
    cache.get_many.assert_not_called()
