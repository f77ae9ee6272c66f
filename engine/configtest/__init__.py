"""``ferrule test``: reading a plant's config tests and running them on an in-memory engine
through the facade. May import every engine subpackage but cli."""
