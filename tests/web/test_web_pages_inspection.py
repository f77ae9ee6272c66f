"""The inspection pages without a browser: a refused start shows why on the start form, and a
reader sees an inspection's plan and decision but no sample form."""

from __future__ import annotations

from flask import Flask
from web_support import sign_in

from engine.commands.lots import Receipt


def test_a_refused_start_says_why_and_a_reader_gets_no_sample_form(line_app: Flask) -> None:
    client = line_app.test_client()
    csrf = sign_in(client, "quinn")
    refused = client.post(
        "/inspections/", data={"part": "TERM-22", "lot": "NOPE", "csrf_token": csrf}
    )
    assert refused.status_code == 404
    assert (
        "There is no lot &#39;NOPE&#39; of part &#39;TERM-22&#39;; check the label, or receive "
        "the lot first." in refused.get_data(as_text=True)
    )
    services = line_app.extensions["ferrule"]
    receipt = Receipt(part="TERM-22", supplier_lot="T-PAGE", quantity=90)
    services.materials.receive(actor="sam", receipt=receipt)
    started = client.post(
        "/inspections/", data={"part": "TERM-22", "lot": "T-PAGE", "csrf_token": csrf}
    )
    assert started.status_code == 303
    page = started.headers["Location"]
    reader = line_app.test_client()
    sign_in(reader, "sam")
    seen = reader.get(page).get_data(as_text=True)
    assert "normal, level II, AQL 1.0, code E: n = 13, Ac 0, Re 1" in seen
    assert 'data-form="sample"' not in seen
    assert 'data-form="sample"' in client.get(page).get_data(as_text=True)
