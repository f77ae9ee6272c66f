"""Who may open which page, and the navigation each person sees."""

from __future__ import annotations

from web.auth import current_caller

RUNNERS = ("operator", "supervisor")
SUPERVISORS = ("supervisor", "admin")
HOLDERS = ("supervisor", "quality")
QUALITY = ("quality",)
# The material review board: whoever a site may name to sign a disposition (the engine checks
# the site's own board); they see the nonconformance queue.
REVIEW_BOARD = ("quality", "engineer", "supervisor", "stores", "maintenance")
READERS = ("supervisor", "quality", "engineer", "admin")
CONFIGURERS = ("engineer", "admin")
DEVICE_WATCHERS = ("supervisor", "engineer", "admin")
ADMINS = ("admin",)
# The equipment pages: maintenance technicians, and whoever watches or signs for the machines.
EQUIPMENT_READERS = ("maintenance", "supervisor", "quality", "engineer", "admin")
# Stores: goods-in clerks book material in, move, split and kit it; supervisors and quality too.
STORES = ("stores", "supervisor", "quality")
STOCK_READERS = ("stores", "supervisor", "quality", "engineer", "admin")
# The audit trail review: quality and admins, and an inspector holding only ``auditor`` (a role
# the site declares in site.yaml like any other; Ferrule gives it the audit pages, nothing else).
AUDITORS = ("quality", "admin", "auditor")

# Where a person lands after sign-in: the first of these their roles allow.
START_PAGES: tuple[tuple[str, str], ...] = (
    ("operator", "/station"),
    ("supervisor", "/supervisor"),
    ("quality", "/quality"),
    ("maintenance", "/equipment/"),
    ("stores", "/materials/goods-in"),
    ("engineer", "/admin/config"),
    ("admin", "/admin/config"),
    ("auditor", "/audit"),
)

_LINKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Station", "/station", RUNNERS),
    ("Dispatch", "/supervisor", SUPERVISORS),
    ("Holds", "/supervisor/holds", HOLDERS),
    ("Quality", "/quality", REVIEW_BOARD),
    ("Inspection", "/inspections/", QUALITY),
    ("History", "/quality/trace", READERS),
    ("Equipment", "/equipment/", EQUIPMENT_READERS),
    ("Tools", "/tools/", EQUIPMENT_READERS),
    ("Maintenance", "/maintenance/orders", EQUIPMENT_READERS),
    ("Goods-in", "/materials/goods-in", STORES),
    ("Stock", "/materials/", STOCK_READERS),
    ("Records", "/records/", READERS),
    ("SPC", "/spc/", READERS),
    ("OEE", "/oee/", READERS),
    ("Config", "/admin/config", CONFIGURERS),
    ("Devices", "/admin/devices", DEVICE_WATCHERS),
    ("Users", "/admin/users", ADMINS),
    ("Events", "/admin/events/", ADMINS),
    ("Audit trail", "/audit", AUDITORS),
)


def nav_links() -> list[tuple[str, str]]:
    """(label, path) of every page the signed-in caller may open."""
    caller = current_caller()
    if caller is None:
        return []
    return [(label, path) for label, path, roles in _LINKS if caller.roles & set(roles)]
