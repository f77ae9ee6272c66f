"""Every kind of structural diagnostic, asserted as ``ferrule check`` prints it.

Each case breaks the small valid plant of conftest.py in one place (``old`` → ``new`` in one
file) and expects exactly these rendered diagnostics: location, message, source line, caret,
hint.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dsl import Severity
from dsl.loader import LoadResult

CASES = [
    pytest.param(
        "site.yaml",
        ("    calibration_due: 2030-01-31"),
        ("    calibraton_due: 2030-01-31"),
        (
            "plant/site.yaml:23:5: error: unknown key 'calibraton_due' in equipment 'pr"
            "ess-1'; did you mean 'calibration_due'?\n"
            "        calibraton_due: 2030-01-31\n"
            "        ^^^^^^^^^^^^^^\n"
            "  hint: allowed keys: description, work_center, device, calibration_due, m"
            "aintenance_due, calibration, maintenance, states"
        ),
        id="unknown_key_with_did_you_mean",
    ),
    pytest.param(
        "site.yaml",
        ("      pressure: {node"),
        ("      pressure: {nod"),
        (
            "plant/site.yaml:13:7: error: tag 'pressure' needs one of: node, holding, i"
            "nput, coil, discrete\n"
            '          pressure: {nod: "ns=2;s=Press.Pressure", unit: bar, max_age: 2 s}\n'
            "          ^^^^^^^^\n"
            "plant/site.yaml:13:18: error: unknown key 'nod' in tag 'pressure'; did you"
            " mean 'node'?\n"
            '          pressure: {nod: "ns=2;s=Press.Pressure", unit: bar, max_age: 2 s}\n'
            "                     ^^^\n"
            "  hint: allowed keys: node, holding, input, coil, discrete, type, word_ord"
            "er, scale, offset, unit, max_age, writable, description, sim, history"
        ),
        id="unknown_key_in_flow_mapping",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("product: WIDGET\n"),
        (""),
        (
            "plant/routings/widget.yaml:1:1: error: a routing file is missing the requi"
            "red key 'product'\n"
            "    routing: widget\n"
            "    ^\n"
            "  hint: product: The product it makes."
        ),
        id="missing_required_key",
    ),
    pytest.param(
        "site.yaml",
        ("port: 5020"),
        ("port: fast"),
        (
            "plant/site.yaml:16:37: error: 'port' must be a whole number, found 'fast'\n"
            "        modbus: {host: 127.0.0.1, port: fast}\n"
            "                                        ^^^^"
        ),
        id="wrong_kind_whole_number",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("capture: [scale.weight]"),
        ("capture: scale.weight"),
        (
            "plant/routings/widget.yaml:17:14: error: 'capture' must be a list, found '"
            "scale.weight'\n"
            "        capture: scale.weight\n"
            "                 ^^^^^^^^^^^^\n"
            "  hint: write it as [a, b] or as one '- item' line per entry"
        ),
        id="wrong_kind_list",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("{type: choice, choices: [ok, scratch]}"),
        ("{type: choice, choices: [ok, scratch], required: yes}"),
        (
            "plant/routings/widget.yaml:25:64: error: 'required' must be true or false,"
            " found 'yes'\n"
            "          visual: {type: choice, choices: [ok, scratch], required: yes}\n"
            "                                                                   ^^^"
        ),
        id="wrong_kind_bool",
    ),
    pytest.param(
        "materials.yaml",
        ("tracking: serial"),
        ("tracking: serials"),
        (
            "plant/materials.yaml:6:15: error: 'tracking' must be serial or lot, found "
            "'serials'; did you mean 'serial'?\n"
            "        tracking: serials\n"
            "                  ^^^^^^^"
        ),
        id="allowed_word_with_did_you_mean",
    ),
    pytest.param(
        "materials.yaml",
        ("    routing: widget\n"),
        ("    routing: widget\n    routing: other\n"),
        (
            "plant/materials.yaml:9:5: error: duplicate key 'routing'\n"
            "        routing: other\n"
            "        ^^^^^^^\n"
            "  hint: 'routing' is already set at line 8; keep one of them"
        ),
        id="duplicate_key",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("work_center: bench"),
        ("work_center: bnch"),
        (
            "plant/routings/widget.yaml:5:18: error: unknown work center 'bnch'; did yo"
            "u mean 'bench'?\n"
            "        work_center: bnch\n"
            "                     ^^^^"
        ),
        id="bad_reference_with_did_you_mean",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("qualification: assembly"),
        ("qualification: welding"),
        (
            "plant/routings/widget.yaml:7:20: error: unknown qualification 'welding'\n"
            "        qualification: welding\n"
            "                       ^^^^^^^\n"
            "  hint: defined: assembly"
        ),
        id="bad_reference_lists_names",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("role: quality"),
        ("role: qa"),
        (
            "plant/routings/widget.yaml:30:16: error: unknown role 'qa'\n"
            "          - {role: qa, meaning: Released}\n"
            "                   ^^\n"
            "  hint: defined: quality"
        ),
        id="bad_role",
    ),
    pytest.param(
        "site.yaml",
        ("description: Assembly bench}"),
        ("description: Note: bench}"),
        (
            "plant/site.yaml:4:28: error: expected ',' or '}' in this { ... } mapping\n"
            "      bench: {description: Note: bench}\n"
            "                               ^"
        ),
        id="yaml_syntax_error",
    ),
    pytest.param(
        "materials.yaml",
        ("    tracking: serial\n"),
        ("    tracking: serial\n   unit: pcs\n"),
        (
            "plant/materials.yaml:7:4: error: expected 'key: value' here\n"
            "       unit: pcs\n"
            "       ^\n"
            "  hint: check this line's indentation against the lines above it"
        ),
        id="yaml_bad_indentation",
    ),
    pytest.param(
        "site.yaml",
        ("site: demo"),
        ("site: &s demo"),
        (
            "plant/site.yaml:1:7: error: YAML anchors and aliases (&name, *name) are no"
            "t supported\n"
            "    site: &s demo\n"
            "          ^^^^^^^\n"
            "  hint: write the value out in full where it is needed"
        ),
        id="yaml_alias_refused",
    ),
    pytest.param(
        "materials.yaml",
        ("    tracking: serial\n"),
        ("\ttracking: serial\n"),
        (
            "plant/materials.yaml:6:1: error: tab characters are not allowed in YAML in"
            "dentation\n"
            "    \ttracking: serial\n"
            "    ^\n"
            "  hint: indent with spaces"
        ),
        id="yaml_tab_indentation",
    ),
    pytest.param(
        "site.yaml",
        ("unit: bar,"),
        ("unit: barr,"),
        (
            "plant/site.yaml:13:55: error: unknown unit 'barr'; did you mean 'bar'?\n"
            '          pressure: {node: "ns=2;s=Press.Pressure", unit: barr, max_age: 2 s}\n'
            "                                                          ^^^^"
        ),
        id="bad_unit",
    ),
    pytest.param(
        "site.yaml",
        ("max_age: 2 s"),
        ("max_age: 2 bar"),
        (
            "plant/site.yaml:13:69: error: 'max_age' must be a duration with a unit, li"
            "ke '5 s', found '2 bar'\n"
            '          pressure: {node: "ns=2;s=Press.Pressure", unit: bar, max_age: 2 bar}\n'
            "                                                                        ^^^^^\n"
            "  hint: 'bar' measures pressure"
        ),
        id="unit_of_wrong_dimension_for_duration",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("qty: 50 cm"),
        ("qty: 50 kg"),
        (
            "plant/routings/widget.yaml:16:30: error: part 'WIRE' is measured in m (len"
            "gth), but this quantity is in kg (mass)\n"
            "          - {part: WIRE, qty: 50 kg, tolerance: 2 %}\n"
            "                                 ^^"
        ),
        id="unit_of_wrong_dimension_for_part",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("min: 490 mm"),
        ("min: 490 N"),
        (
            "plant/routings/widget.yaml:19:49: error: field 'length' is in mm (length),"
            " but its min is in N (force)\n"
            "          length: {type: number, unit: mm, min: 490 N, max: 0.51 m}\n"
            "                                                    ^"
        ),
        id="unit_of_wrong_dimension_for_field_limit",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("qty: 50 cm"),
        ("qty: 50"),
        (
            "plant/routings/widget.yaml:16:27: error: quantity of part 'WIRE' needs a u"
            "nit of length, like '50 m'\n"
            "          - {part: WIRE, qty: 50, tolerance: 2 %}\n"
            "                              ^^"
        ),
        id="bare_number_for_length_part",
    ),
    pytest.param(
        "site.yaml",
        ("calibration_due: 2030-01-31"),
        ("calibration_due: 2030-02-30"),
        (
            "plant/site.yaml:23:22: error: 'calibration_due' must be a date written YYY"
            "Y-MM-DD, like 2027-06-30, found '2030-02-30'\n"
            "        calibration_due: 2030-02-30\n"
            "                         ^^^^^^^^^^\n"
            "  hint: this date does not exist in the calendar"
        ),
        id="impossible_date",
    ),
    pytest.param(
        "site.yaml",
        ("calibration_due: 2030-01-31"),
        ("calibration_due: 31.01.2030"),
        (
            "plant/site.yaml:23:22: error: 'calibration_due' must be a date written YYY"
            "Y-MM-DD, like 2027-06-30, found '31.01.2030'\n"
            "        calibration_due: 31.01.2030\n"
            "                         ^^^^^^^^^^"
        ),
        id="badly_written_date",
    ),
    pytest.param(
        "site.yaml",
        ("Europe/Berlin"),
        ("Europe/Berln"),
        (
            "plant/site.yaml:2:11: error: unknown time zone 'Europe/Berln'; did you mea"
            "n 'Europe/Berlin'?\n"
            "    timezone: Europe/Berln\n"
            "              ^^^^^^^^^^^^\n"
            "  hint: use an IANA time zone name such as Europe/Berlin or America/Chicago"
        ),
        id="unknown_time_zone",
    ),
    pytest.param(
        "site.yaml",
        ("weight: {holding: 0, type: float32"),
        ("weight: {coil: 0, type: float32"),
        (
            "plant/site.yaml:18:31: error: tag 'weight' is a coil, which holds one bit;"
            " its type must be bool, found 'float32'\n"
            "          weight: {coil: 0, type: float32, unit: kg}\n"
            "                                  ^^^^^^^\n"
            "  hint: use a holding or input register for numbers"
        ),
        id="coil_with_32_bit_type",
    ),
    pytest.param(
        "site.yaml",
        ("weight: {holding: 0,"),
        ("weight: {holding: 65535,"),
        (
            "plant/site.yaml:18:25: error: a float32 spans 2 registers, so holding addr"
            "ess must be between 0 and 65534, found 65535\n"
            "          weight: {holding: 65535, type: float32, unit: kg}\n"
            "                            ^^^^^"
        ),
        id="modbus_address_out_of_range",
    ),
    pytest.param(
        "site.yaml",
        ("opc.tcp://127.0.0.1:4840"),
        ("http://127.0.0.1:4840"),
        (
            "plant/site.yaml:11:23: error: OPC UA endpoint must start with opc.tcp://, "
            "found 'http://127.0.0.1:4840'\n"
            '        opcua: {endpoint: "http://127.0.0.1:4840"}\n'
            "                          ^^^^^^^^^^^^^^^^^^^^^^^\n"
            "  hint: write it like opc.tcp://127.0.0.1:4840/path"
        ),
        id="opcua_endpoint_scheme",
    ),
    pytest.param(
        "site.yaml",
        ('opcua: {endpoint: "opc.tcp://127.0.0.1:4840"}'),
        ('opcua: {endpoint: "opc.tcp://127.0.0.1:4840", security_policy: Basic256Sha256}'),
        (
            "plant/site.yaml:11:51: error: device 'press' uses Basic256Sha256 but has n"
            "o certificate\n"
            '        opcua: {endpoint: "opc.tcp://127.0.0.1:4840", security_policy: Bas'
            "ic256Sha256}\n"
            "                                                      ^^^^^^^^^^^^^^^\n"
            "  hint: add certificate: the name of a file in the site secrets folder\n"
            "plant/site.yaml:11:51: error: device 'press' uses Basic256Sha256 but has n"
            "o private_key\n"
            '        opcua: {endpoint: "opc.tcp://127.0.0.1:4840", security_policy: Bas'
            "ic256Sha256}\n"
            "                                                      ^^^^^^^^^^^^^^^\n"
            "  hint: add private_key: the name of a file in the site secrets folder"
        ),
        id="security_policy_needs_certificates",
    ),
    pytest.param(
        "site.yaml",
        ('opcua: {endpoint: "opc.tcp://127.0.0.1:4840"}'),
        ('opcua: {endpoint: "opc.tcp://127.0.0.1:4840", private_key: pki/client.pem}'),
        (
            "plant/site.yaml:11:64: error: private_key must be a file name in the site secrets "
            "folder, not a path into a sub-folder\n"
            '        opcua: {endpoint: "opc.tcp://127.0.0.1:4840", private_key: pki/client.pem}\n'
            "                                                                   ^^^^^^^^^^^^^^\n"
            "  hint: write the file's name only, like private_key: client.pem, and keep the "
            "file in the site secrets folder (see docs/adapters.md)"
        ),
        id="secret_in_a_sub_folder",
    ),
    pytest.param(
        "site.yaml",
        ('      pressure: {node: "ns=2;s=Press.Pressure",'),
        ('      pressure: {node: "ns=2;s=Press.Pressure", holding: 3,'),
        (
            "plant/site.yaml:13:49: error: 'holding' does not apply to tag 'pressure' o"
            "f OPC UA device 'press'\n"
            '          pressure: {node: "ns=2;s=Press.Pressure", holding: 3, unit: bar,'
            " max_age: 2 s}\n"
            "                                                    ^^^^^^^\n"
            "  hint: OPC UA tags have a node; Modbus tags have holding, input, coil or "
            "discrete\n"
            "plant/site.yaml:13:49: error: tag 'pressure' has both 'node' and 'holding'\n"
            '          pressure: {node: "ns=2;s=Press.Pressure", holding: 3, unit: bar,'
            " max_age: 2 s}\n"
            "                                                    ^^^^^^^\n"
            "  hint: keep exactly one of: node, holding, input, coil, discrete"
        ),
        id="two_addresses",
    ),
    pytest.param(
        "site.yaml",
        ("    modbus: {host: 127.0.0.1, port: 5020}\n"),
        (""),
        (
            "plant/site.yaml:15:3: error: device 'scale' needs one of: opcua, modbus\n"
            "      scale:\n"
            "      ^^^^^"
        ),
        id="no_connection",
    ),
    pytest.param(
        "site.yaml",
        ("  scale:\n"),
        ("  scale-2:\n"),
        (
            "plant/routings/widget.yaml:17:15: error: unknown tag 'scale.weight'; did y"
            "ou mean 'scale-2.weight'?\n"
            "        capture: [scale.weight]\n"
            "                  ^^^^^^^^^^^^\n"
            "plant/site.yaml:15:3: error: device name 'scale-2' cannot be used in rules\n"
            "      scale-2:\n"
            "      ^^^^^^^\n"
            "  hint: use letters, digits and '_', starting with a letter or '_'"
        ),
        id="device_name_not_an_identifier",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("visual: {type: choice, choices: [ok, scratch]}"),
        ("visual: {type: choice}"),
        (
            "plant/routings/widget.yaml:25:7: error: choice field 'visual' has no choices\n"
            "          visual: {type: choice}\n"
            "          ^^^^^^\n"
            "  hint: add choices: [a, b, ...]"
        ),
        id="choice_field_without_choices",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("min: 490 mm, max: 0.51 m"),
        ("min: 520 mm, max: 0.51 m"),
        (
            "plant/routings/widget.yaml:19:58: error: field 'length' has min 520 mm abo"
            "ve max 510 mm\n"
            "          length: {type: number, unit: mm, min: 520 mm, max: 0.51 m}\n"
            "                                                             ^^^^^^"
        ),
        id="min_above_max",
    ),
    pytest.param(
        "site.yaml",
        (", writable: true}"),
        ("}"),
        (
            "plant/routings/widget.yaml:13:15: error: tag 'press.target' is not writabl"
            "e, so a setpoint cannot write it\n"
            "          - {tag: press.target, value: 100 N, tolerance: 2 N}\n"
            "                  ^^^^^^^^^^^^\n"
            "  hint: add 'writable: true' to the tag if setpoints may write it"
        ),
        id="setpoint_tag_not_writable",
    ),
    pytest.param(
        "materials.yaml",
        ("      - {part: BOLT, qty: 2}\n"),
        (""),
        (
            "plant/routings/widget.yaml:15:16: error: part 'BOLT' is not in the BOM of "
            "product 'WIDGET'\n"
            "          - {part: BOLT, qty: 2}\n"
            "                   ^^^^\n"
            "  hint: add it to the product's bom, or consume a part the BOM lists"
        ),
        id="consumed_part_not_in_bom",
    ),
    pytest.param(
        "materials.yaml",
        ("W{yy}-{seq:4}"),
        ("W{yr}-{seq:4}"),
        (
            "plant/materials.yaml:7:23: error: unknown placeholder '{yr}' in number_pattern\n"
            '        number_pattern: "W{yr}-{seq:4}"\n'
            "                          ^^^^\n"
            "  hint: placeholders: {yyyy} {yy} {mm} {dd} {seq:N} (N digits, 1-12) {wo}"
        ),
        id="unknown_number_pattern_placeholder",
    ),
    pytest.param(
        "materials.yaml",
        ("W{yy}-{seq:4}"),
        ("W{yy}"),
        (
            "plant/materials.yaml:7:21: error: number_pattern needs a {seq:N} placehold"
            "er so every number is unique\n"
            '        number_pattern: "W{yy}"\n'
            "                        ^^^^^^^\n"
            '  hint: e.g. "HA{yy}{mm}-{seq:5}"'
        ),
        id="number_pattern_without_sequence",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("instructions/assemble.md"),
        ("instructions/asemble.md"),
        (
            "plant/routings/widget.yaml:8:19: error: instructions file 'instructions/as"
            "emble.md' does not exist in plant\n"
            "        instructions: instructions/asemble.md\n"
            "                      ^^^^^^^^^^^^^^^^^^^^^^^\n"
            "  hint: paths are relative to the plant folder, e.g. instructions/cut.md"
        ),
        id="missing_instructions_file",
    ),
    pytest.param(
        "site.yaml",
        ("site: demo\n"),
        ("site: demo\noperations: []\n"),
        (
            "plant/site.yaml:2:1: error: 'operations' does not belong in a plant file\n"
            "    operations: []\n"
            "    ^^^^^^^^^^\n"
            "  hint: routings go in their own files under routings/"
        ),
        id="routing_section_in_plant_file",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("{rework: assemble, max: 2}"),
        ("{rework: asemble, max: 2}"),
        (
            "plant/routings/widget.yaml:28:27: error: unknown operation 'asemble'; did "
            "you mean 'assemble'?\n"
            "            on_fail: {rework: asemble, max: 2}\n"
            "                              ^^^^^^^"
        ),
        id="unknown_rework_target",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("press.pressure between"),
        ("press.presure between"),
        (
            "plant/routings/widget.yaml:10:18: error: unknown tag 'press.presure'; did "
            "you mean 'press.pressure'?\n"
            "          - require: press.presure between 2 bar and 8 bar\n"
            "                     ^^^^^^^^^^^^^"
        ),
        id="expression_unknown_tag",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("length between 495 mm and 505 mm"),
        ("length between 495 N and 505 N"),
        (
            "plant/routings/widget.yaml:21:31: error: cannot compare length (mm) with f"
            "orce (N)\n"
            "          - check: length between 495 N and 505 N\n"
            "                                  ^^^^^"
        ),
        id="expression_unit_mismatch",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("press.pressure between 2 bar and 8 bar"),
        ("length > 1 mm"),
        (
            "plant/routings/widget.yaml:10:18: error: field 'length' is collected later"
            ", at operation 'assemble'\n"
            "          - require: length > 1 mm\n"
            "                     ^^^^^^\n"
            "  hint: only fields of earlier operations can be read here; check it in a gate"
        ),
        id="expression_field_collected_later",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("      - check: length between 495 mm and 505 mm"),
        ('      - check: "length between 495 mm and 505 kg"'),
        (
            "plant/routings/widget.yaml:21:43: error: cannot compare length (mm) with m"
            "ass (kg)\n"
            '          - check: "length between 495 mm and 505 kg"\n'
            "                                              ^^^^^^"
        ),
        id="expression_in_quoted_scalar",
    ),
    pytest.param(
        "site.yaml",
        ("running: press.pressure > 1 bar"),
        ("running: press.pressure > 1 N"),
        (
            "plant/site.yaml:25:35: error: cannot compare pressure (bar) with force (N)\n"
            "          - running: press.pressure > 1 N\n"
            "                                      ^^^"
        ),
        id="expression_in_state_rule",
    ),
    pytest.param(
        "materials.yaml",
        ("qty: 0.5 m}"),
        ("qty: 0.6 m}"),
        (
            "plant/materials.yaml:11:9: warning: the BOM of product 'WIDGET' lists 0.6 "
            "m of WIRE, but routing 'widget' consumes 0.5 m\n"
            "          - {part: WIRE, qty: 0.6 m}\n"
            "            ^^^^^^^^^^^^^^^^^^^^^^^^\n"
            "  hint: make the BOM quantity match the sum of the routing's consume lines"
        ),
        id="warning_bom_does_not_match_consumption",
    ),
    pytest.param(
        "site.yaml",
        ("      weight: {holding: 0, type: float32, unit: kg}\n"),
        (
            "      weight: {holding: 0, type: float32, unit: kg}\n"
            "      temp: {holding: 2, unit: °C}\n"
            ""
        ),
        (
            "plant/site.yaml:19:7: warning: tag 'scale.temp' is never read by a rule, c"
            "apture or setpoint\n"
            "          temp: {holding: 2, unit: °C}\n"
            "          ^^^^\n"
            "  hint: use it, or remove it so the adapter does not poll it"
        ),
        id="warning_unused_tag",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("{rework: assemble, max: 2}"),
        ("{rework: assemble}"),
        (
            "plant/routings/widget.yaml:28:27: warning: rework to 'assemble' has no max"
            "; at most 3 loops are allowed\n"
            "            on_fail: {rework: assemble}\n"
            "                              ^^^^^^^^\n"
            "  hint: add max: N to say how often an item may loop (default 3)"
        ),
        id="warning_rework_without_max",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("        on_fail: hold"),
        ("        on_fail: {rework: inspect, max: 1}"),
        (
            "plant/routings/widget.yaml:22:27: warning: rework target 'inspect' comes a"
            "fter operation 'assemble', whose gate sends items to it\n"
            "            on_fail: {rework: inspect, max: 1}\n"
            "                              ^^^^^^^\n"
            "  hint: rework normally sends an item back to this or an earlier operation"
        ),
        id="warning_rework_target_after_gate",
    ),
    pytest.param(
        "materials.yaml",
        ("parts:\n"),
        ("parts:\n  NUT: {unit: pcs}\n"),
        (
            "plant/materials.yaml:2:3: warning: part 'NUT' is in no product's BOM\n"
            "      NUT: {unit: pcs}\n"
            "      ^^^\n"
            "  hint: add it to a bom, or remove it"
        ),
        id="warning_part_in_no_bom",
    ),
    pytest.param(
        "materials.yaml",
        ("{part: BOLT, qty: 2}"),
        ("{part: BOLT, qty: -2}"),
        (
            "plant/materials.yaml:10:27: error: 'qty' must be more than 0, found '-2'\n"
            "          - {part: BOLT, qty: -2}\n"
            "                              ^^\n"
            "  hint: remove the line if the part is not used"
        ),
        id="negative_bom_quantity",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("{part: BOLT, qty: 2}"),
        ("{part: BOLT, qty: 0}"),
        (
            "plant/routings/widget.yaml:15:27: error: 'qty' must be more than 0, found '0'\n"
            "          - {part: BOLT, qty: 0}\n"
            "                              ^\n"
            "  hint: remove the line if the part is not used"
        ),
        id="zero_consumption",
    ),
    pytest.param(
        "routings/widget.yaml",
        ("{part: WIRE, qty: 50 cm,"),
        ("{part: WIRE, qty: -50 cm,"),
        (
            "plant/routings/widget.yaml:16:27: error: 'qty' must be more than 0, found '-50 cm'\n"
            "          - {part: WIRE, qty: -50 cm, tolerance: 2 %}\n"
            "                              ^^^^^^\n"
            "  hint: remove the line if the part is not used"
        ),
        id="negative_consumption_with_a_unit",
    ),
    pytest.param(
        "site.yaml",
        ("port: 5020"),
        ('port: "5020"'),
        (
            "plant/site.yaml:16:37: error: 'port' must be a whole number, found \"5020\" in "
            "quotes\n"
            '        modbus: {host: 127.0.0.1, port: "5020"}\n'
            "                                        ^^^^^^\n"
            "  hint: remove the quotes"
        ),
        id="quoted_whole_number",
    ),
    pytest.param(
        "site.yaml",
        ("port: 5020"),
        ("port: 70000"),
        (
            "plant/site.yaml:16:37: error: 'port' must be between 1 and 65535, found '70000'\n"
            "        modbus: {host: 127.0.0.1, port: 70000}\n"
            "                                        ^^^^^"
        ),
        id="port_out_of_range",
    ),
    pytest.param(
        "site.yaml",
        ("unit: kg}"),
        ("unit: kg, scale: 0}"),
        (
            "plant/site.yaml:18:60: error: 'scale' must not be 0\n"
            "          weight: {holding: 0, type: float32, unit: kg, scale: 0}\n"
            "                                                               ^\n"
            "  hint: a scale of 0 makes every reading equal to the offset"
        ),
        id="zero_scale",
    ),
]


@pytest.mark.parametrize(("path", "old", "new", "expected"), CASES)
def test_diagnostic_is_rendered_exactly(
    load_plant: Callable[..., LoadResult],
    edit: Callable[[str, str, str], dict[str, str]],
    path: str,
    old: str,
    new: str,
    expected: str,
) -> None:
    result = load_plant(edit(path, old, new))
    assert result.render() == expected
    has_errors = any(d.severity is Severity.ERROR for d in result.diagnostics)
    assert (result.plant is None) == has_errors


def test_the_base_plant_is_clean(load_plant: Callable[..., LoadResult]) -> None:
    result = load_plant()
    assert result.diagnostics == ()
    assert result.plant is not None


def test_every_error_is_reported_in_one_run_sorted_by_file_and_position(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    files = {
        "site.yaml": base_files["site.yaml"].replace("port: 5020", "port: fast"),
        "materials.yaml": base_files["materials.yaml"].replace("serial", "serials"),
        "routings/widget.yaml": base_files["routings/widget.yaml"]
        .replace("work_center: bench", "work_center: bnch")
        .replace("press.pressure between", "press.presure between"),
    }
    result = load_plant(files)
    assert result.plant is None
    assert [(d.span.path, d.span.line, d.span.col, d.message) for d in result.diagnostics] == [
        (
            "plant/materials.yaml",
            6,
            15,
            "'tracking' must be serial or lot, found 'serials'; did you mean 'serial'?",
        ),
        ("plant/routings/widget.yaml", 5, 18, "unknown work center 'bnch'; did you mean 'bench'?"),
        (
            "plant/routings/widget.yaml",
            10,
            18,
            "unknown tag 'press.presure'; did you mean 'press.pressure'?",
        ),
        ("plant/site.yaml", 16, 37, "'port' must be a whole number, found 'fast'"),
    ]


def test_a_name_defined_in_two_files_points_at_the_second(
    load_plant: Callable[..., LoadResult],
) -> None:
    result = load_plant({"extra.yaml": "parts:\n  BOLT: {unit: pcs}\n"})
    assert result.render() == (
        "plant/materials.yaml:2:3: error: part 'BOLT' is defined twice\n"
        "      BOLT: {tracking: lot, unit: pcs}\n"
        "      ^^^^\n"
        "  hint: first defined at plant/extra.yaml:2:3; keep one of them"
    )


def test_a_plant_without_site_says_where_to_declare_it(
    load_plant: Callable[..., LoadResult], base_files: dict[str, str]
) -> None:
    site = base_files["site.yaml"].replace("site: demo\ntimezone: Europe/Berlin\n", "")
    result = load_plant({"site.yaml": site})
    assert result.render() == (
        "plant/materials.yaml:1:1: error: no site is declared\n"
        "    parts:\n"
        "    ^\n"
        "  hint: add 'site: NAME' and 'timezone: ZONE' to site.yaml"
    )


def test_yml_files_are_ignored_with_a_warning(load_plant: Callable[..., LoadResult]) -> None:
    result = load_plant({"extra.yml": "parts: {}\n"})
    assert result.plant is not None
    assert [d.to_json()["message"] for d in result.diagnostics] == [
        "this file is ignored: plant files end in .yaml"
    ]


def test_a_file_over_the_size_limit_is_refused(load_plant: Callable[..., LoadResult]) -> None:
    big = "# padding\n" * 110_000
    result = load_plant({"extra.yaml": big})
    assert result.plant is None
    assert [d.message for d in result.diagnostics] == [
        "file is too large (1,100,000 bytes; the limit is 1,000,000)"
    ]


def test_deep_nesting_is_refused_without_recursion(load_plant: Callable[..., LoadResult]) -> None:
    result = load_plant({"extra.yaml": "x: " + "[" * 5000 + "]" * 5000 + "\n"})
    assert [d.message for d in result.diagnostics] == [
        "the YAML is nested more than 64 levels deep"
    ]
