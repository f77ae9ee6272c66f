"""The Modbus codec: data types, word order, scale/offset round trips and block merging."""

from __future__ import annotations

import math
import struct

import pytest
from adapter_helpers import make_tag
from hypothesis import given
from hypothesis import strategies as st

from adapters.codec import CodecError, decode, encode, plan_blocks
from dsl.model import ModbusAddress, RegisterKind

RANGES = {
    "int16": (-32768, 32767),
    "uint16": (0, 65535),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


def address(
    data_type: str, word_order: str = "big", scale: float = 1.0, offset: float = 0.0
) -> ModbusAddress:
    return ModbusAddress(RegisterKind.HOLDING, 100, data_type, word_order, scale, offset)  # type: ignore[arg-type]


def test_float32_big_word_order_puts_the_high_word_first() -> None:
    high, low = struct.unpack(">HH", struct.pack(">f", 2.5))
    assert encode(address("float32"), 2.5) == [high, low]
    assert decode(address("float32"), [high, low]) == 2.5


def test_float32_little_word_order_puts_the_low_word_first() -> None:
    high, low = struct.unpack(">HH", struct.pack(">f", 2.5))
    assert encode(address("float32", "little"), 2.5) == [low, high]
    assert decode(address("float32", "little"), [low, high]) == 2.5


def test_signed_and_scaled_values_decode_to_engineering_units() -> None:
    assert decode(address("int16"), [0xFFFF]) == -1.0
    assert decode(address("uint16", scale=0.1), [5000]) == pytest.approx(500.0)
    assert decode(address("int32", "little"), [0xFFFE, 0xFFFF]) == -2.0
    assert decode(address("uint16", scale=0.5, offset=-10), [40]) == 10.0


def test_bits_and_bool_registers_decode_to_bools() -> None:
    coil = ModbusAddress(RegisterKind.COIL, 3, "bool")
    assert decode(coil, [True]) is True
    assert encode(coil, False) == [False]
    assert decode(address("bool"), [7]) is True
    assert encode(address("bool"), True) == [1]


def test_a_value_outside_the_type_is_refused_with_the_range() -> None:
    with pytest.raises(CodecError) as caught:
        encode(address("uint16", scale=0.1), 7000)
    assert str(caught.value) == (
        "value 7000 does not fit uint16 at holding 100 "
        "(raw 70000 outside 0..65535 after scale and offset)"
    )


@given(
    data_type=st.sampled_from(sorted(RANGES)),
    word_order=st.sampled_from(["big", "little"]),
    fraction=st.floats(0, 1),
    scale=st.sampled_from([1.0, 0.1, 0.01, 2.0]),
    offset=st.sampled_from([0.0, -40.0, 273.15]),
)
def test_integer_types_round_trip(
    data_type: str, word_order: str, fraction: float, scale: float, offset: float
) -> None:
    low, high = RANGES[data_type]
    raw = round(low + (high - low) * fraction)
    where = address(data_type, word_order, scale, offset)
    value = raw * scale + offset
    words = encode(where, value)
    assert len(words) == where.register_count
    assert all(0 <= int(w) <= 0xFFFF for w in words)
    assert decode(where, words) == pytest.approx(value, rel=1e-12, abs=1e-9)


@given(
    value=st.floats(width=32, allow_nan=False, allow_infinity=False),
    word_order=st.sampled_from(["big", "little"]),
)
def test_float32_round_trips_exactly(value: float, word_order: str) -> None:
    where = address("float32", word_order)
    assert decode(where, encode(where, value)) == value


@given(
    words=st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2),
    word_order=st.sampled_from(["big", "little"]),
)
def test_decoding_then_encoding_restores_registers(words: list[int], word_order: str) -> None:
    where = address("int32", word_order)
    assert encode(where, decode(where, words)) == words
    where = address("float32", word_order)
    value = decode(where, words)
    if math.isfinite(value):
        assert decode(where, encode(where, value)) == value


def tag_at(name: str, kind: RegisterKind, at: int, data_type: str = "uint16"):  # type: ignore[no-untyped-def]
    return make_tag("plc", name, ModbusAddress(kind, at, data_type))  # type: ignore[arg-type]


def test_neighbouring_tags_merge_into_one_read_per_kind() -> None:
    tags = [
        tag_at("a", RegisterKind.HOLDING, 100, "float32"),
        tag_at("b", RegisterKind.HOLDING, 102),
        tag_at("c", RegisterKind.HOLDING, 110, "int32"),
        tag_at("d", RegisterKind.INPUT, 10),
        tag_at("e", RegisterKind.DISCRETE, 0),
        tag_at("f", RegisterKind.DISCRETE, 5),
    ]
    blocks = plan_blocks(tags)
    assert [(b.kind, b.start, b.count, [t.name for t in b.tags]) for b in blocks] == [
        (RegisterKind.HOLDING, 100, 12, ["a", "b", "c"]),
        (RegisterKind.INPUT, 10, 1, ["d"]),
        (RegisterKind.DISCRETE, 0, 6, ["e", "f"]),
    ]
    holding = blocks[0]
    words = list(range(12))
    assert holding.words_of(tags[2], words) == [10, 11]


def test_far_apart_tags_and_long_runs_split_into_several_reads() -> None:
    far = plan_blocks([tag_at("a", RegisterKind.HOLDING, 0), tag_at("b", RegisterKind.HOLDING, 50)])
    assert [(b.start, b.count) for b in far] == [(0, 1), (50, 1)]
    run = plan_blocks([tag_at(f"t{i}", RegisterKind.HOLDING, 2 * i, "float32") for i in range(100)])
    assert [(b.start, b.count) for b in run] == [(0, 124), (124, 76)]
    assert all(b.count <= 125 for b in run)
