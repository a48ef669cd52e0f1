"""Benchmarks and load tools: ``manage.py bench``, ``bench_search``, ``loadtest`` and
``lighthouse``. Not part of the product: they measure it, and nothing in articles or
quicktakes imports them.
"""
