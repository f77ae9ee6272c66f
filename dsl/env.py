"""Environment keys: the contract between compiled rules and whoever evaluates them.

A rule reads one flat ``dict``. The engine fills it with exactly the keys the rule needs
(``CompiledRule.keys``), leaving out anything unavailable (a bad or stale tag, a field not
entered) so that the rule answers *unknown*. Tags go in through :func:`dsl.tagenv.add_tag`.

Values are stored in SI base units (quantities), as ``float`` seconds since the epoch (dates at
UTC midnight of their calendar day, datetimes as instants), ``bool``, ``str`` or ``frozenset``.

====================================  =============================================================
key                                   value
====================================  =============================================================
``tag:<device>.<tag>``                the tag's value, converted to SI (only while good and finite)
``tag:<device>.<tag>.age``            seconds since the device's source timestamp (only while good)
``tag:<device>.<tag>.quality``        ``"good"``, ``"bad"`` or ``"stale"`` (present even when bad)
``field:<operation>.<field>``         an entered data field, in SI
``operator.id``                       the user name of the operator
``operator.roles``                    ``frozenset`` of role names
``operator.qualifications``           ``frozenset`` of qualifications valid today
``equipment.name``                    the operation's equipment
``equipment.state``                   ``"running"``, ``"idle"``, ``"down"`` or ``"setup"``
``equipment.calibration_due``         date
``equipment.maintenance_due``         date
``item.id``                           the serial number or lot number being worked on
``item.quantity``                     its quantity (1 for a serialized unit)
``item.rework_count``                 how many times it has been sent back for rework
``today``                             the site's local date
``now``                               the current instant
====================================  =============================================================
"""

from __future__ import annotations

import datetime as dt

TAG = "tag:"
FIELD = "field:"
TODAY = "today"
NOW = "now"


def tag_key(tag: str) -> str:
    """Key of a tag's value; ``tag`` is ``device.tag``."""
    return TAG + tag


def tag_age_key(tag: str) -> str:
    """Key of a tag's age in seconds."""
    return TAG + tag + ".age"


def tag_quality_key(tag: str) -> str:
    """Key of a tag's quality string."""
    return TAG + tag + ".quality"


def field_key(operation: str, field: str) -> str:
    """Key of a data field collected at ``operation``."""
    return f"{FIELD}{operation}.{field}"


_EPOCH_DAY = dt.date(1970, 1, 1)


def date_value(day: dt.date) -> float:
    """A calendar date as the rule language stores it."""
    return float((day - _EPOCH_DAY).days * 86400)


def datetime_value(moment: dt.datetime) -> float:
    """An aware datetime as the rule language stores it."""
    if moment.tzinfo is None:
        raise ValueError("datetimes given to rules must be timezone-aware")
    return moment.timestamp()


def value_date(value: float) -> dt.date:
    """The inverse of :func:`date_value`."""
    return _EPOCH_DAY + dt.timedelta(days=int(value // 86400))
