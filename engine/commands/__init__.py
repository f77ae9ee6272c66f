"""The engine's commands, one module each: start, preview, complete, quality, work orders, lots,
equipment, config versions. May import floor, access, infra, records, errors and each other."""
