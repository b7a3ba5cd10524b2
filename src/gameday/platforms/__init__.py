"""Platforms: where targets live (Docker containers, Toxiproxy proxies, host paths...), found through the
``gameday.platforms`` entry point group. See ``base`` for the protocols and ``registry`` for the loading."""
