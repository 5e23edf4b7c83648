"""One generator per resource: each module renders its API object from (seed, id, version) alone.

A generator is ``render(basis, row, relations, variant) -> dict`` (basis.Render): ``row`` is the record's
id, version and dates as the store's indexes hold them, ``relations`` answers what it needs to know about
other records (basis.Relations). The registry (registry.py) names each resource's generator.
"""
