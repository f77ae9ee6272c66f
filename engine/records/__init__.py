"""The tables: SQLAlchemy models of every record the engine keeps (production, config, people,
lots, equipment, audit). Imports nothing else of the engine."""
