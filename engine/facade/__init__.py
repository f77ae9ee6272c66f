"""The engine's facades: the only doors the web layer, the CLI and tests use to run commands and
queries. May import every other engine subpackage; nothing inside the engine imports it."""
