"""The engine's facades: the only doors the web layer, the CLI and tests use to run commands and
queries. :mod:`~engine.facade.production` runs the shop floor (work orders, execution, quality,
lots, equipment), :mod:`~engine.facade.access` says who may act (sign-in, tokens, users) and
:mod:`~engine.facade.config` keeps the plant's config versions. Each method opens its own session
or transaction. May import every other engine subpackage; nothing inside the engine imports it."""
