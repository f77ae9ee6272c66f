"""Read-only questions: items and WIP, an item's history, genealogy. May import floor, infra,
records and errors; never a command."""
