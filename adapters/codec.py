"""Modbus register codec: data types, word order, scale/offset and read-block merging.

Pure functions, no I/O. A 32-bit value spans two 16-bit registers; ``big`` word order puts the
high word first (the Modbus convention), ``little`` the low word first. Within a register, bytes
are always big-endian. The engineering value is ``raw * scale + offset``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dsl.model import ModbusAddress, RegisterKind, Tag

MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000
MAX_GAP = 8
"""Unused registers a merged read may span between two tags (fewer requests, a little more data)."""

_WORD_FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}


class CodecError(ValueError):
    """A value cannot be encoded for (or decoded from) its Modbus address."""


def is_bit(address: ModbusAddress) -> bool:
    """Coils and discrete inputs hold single bits."""
    return address.kind in (RegisterKind.COIL, RegisterKind.DISCRETE)


def decode(address: ModbusAddress, words: Sequence[int | bool]) -> float | bool:
    """The engineering value held in ``words`` (``address.register_count`` registers, or 1 bit)."""
    if is_bit(address):
        return bool(words[0])
    if address.data_type == "bool":
        return words[0] != 0
    ordered = list(words[: address.register_count])
    if address.word_order == "little":
        ordered.reverse()
    raw_bytes = b"".join(int(w).to_bytes(2, "big") for w in ordered)
    (raw,) = struct.unpack(_WORD_FORMATS[address.data_type], raw_bytes)
    return float(raw) * address.scale + address.offset


def encode(address: ModbusAddress, value: float | bool) -> list[int] | list[bool]:
    """The registers (or the one bit) holding ``value`` at ``address``; inverts :func:`decode`."""
    if is_bit(address):
        return [bool(value)]
    if address.data_type == "bool":
        return [1 if value else 0]
    raw = (float(value) - address.offset) / address.scale
    fmt = _WORD_FORMATS[address.data_type]
    if address.data_type != "float32":
        rounded = round(raw)
        bits = 16 if address.data_type.endswith("16") else 32
        low, high = (
            (0, 2**bits - 1)
            if address.data_type.startswith("u")
            else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        )
        if not math.isfinite(raw) or not low <= rounded <= high:
            raise CodecError(
                f"value {value} does not fit {address.data_type} at {address.kind.value} "
                f"{address.address} (raw {raw:g} outside {low}..{high} after scale and offset)"
            )
        packed = struct.pack(fmt, rounded)
    else:
        try:
            packed = struct.pack(fmt, raw)
        except OverflowError as exc:
            raise CodecError(f"value {value} does not fit float32") from exc
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
    if address.word_order == "little":
        words.reverse()
    return words


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers (or bits) of ``kind`` from ``start``."""

    kind: RegisterKind
    start: int
    count: int
    tags: tuple[Tag, ...]

    def words_of(self, tag: Tag, words: Sequence[int | bool]) -> Sequence[int | bool]:
        """The slice of a block read that holds ``tag``."""
        address = modbus_address(tag)
        begin = address.address - self.start
        return words[begin : begin + address.register_count]


def modbus_address(tag: Tag) -> ModbusAddress:
    """The tag's Modbus address (a TypeError names the tag if it is not a Modbus tag)."""
    if not isinstance(tag.address, ModbusAddress):
        raise TypeError(f"tag {tag.key} has no Modbus address")
    return tag.address


def plan_blocks(tags: Iterable[Tag], max_gap: int = MAX_GAP) -> tuple[Block, ...]:
    """Merge tags into as few reads as the protocol's size limits allow.

    Tags of one kind are sorted by address; a tag joins the current block when the gap to it is
    at most ``max_gap`` and the block stays within 125 registers (2000 bits).
    """
    by_kind: dict[RegisterKind, list[Tag]] = {}
    for tag in tags:
        by_kind.setdefault(modbus_address(tag).kind, []).append(tag)
    blocks: list[Block] = []
    for kind in RegisterKind:
        members = sorted(by_kind.get(kind, ()), key=lambda t: modbus_address(t).address)
        limit = (
            MAX_BITS_PER_READ
            if kind in (RegisterKind.COIL, RegisterKind.DISCRETE)
            else (MAX_REGISTERS_PER_READ)
        )
        current: list[Tag] = []
        start = end = 0
        for tag in members:
            address = modbus_address(tag)
            tag_end = address.address + address.register_count
            if current and address.address - end <= max_gap and max(end, tag_end) - start <= limit:
                current.append(tag)
                end = max(end, tag_end)
                continue
            if current:
                blocks.append(Block(kind, start, end - start, tuple(current)))
            current, start, end = [tag], address.address, tag_end
        if current:
            blocks.append(Block(kind, start, end - start, tuple(current)))
    return tuple(blocks)
