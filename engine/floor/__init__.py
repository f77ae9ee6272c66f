"""What every shop-floor command reads and decides: items and their guarded state changes, the
rule environment, tag sources, routing, sampling, data validation. May import access and below."""
