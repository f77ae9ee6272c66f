"""The adapter process reads certificates and keys from the site secrets folder (issue 9): it
refuses a private key that group or others may read, as ssh does, and a missing file; either is
the device's bad reason until the file is fixed, which needs no restart."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_helpers import RuntimeThread, free_port, make_plant, opcua_device, wait_for
from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from adapters.cache import Quality
from adapters.cli import default_secrets, report_secrets
from adapters.opcua import SecretError, read_secret, secret_problems
from dsl.model import Device, OpcUaConnection


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory (Unix socket paths are limited to ~100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="ferrule-") as name:
        yield Path(name)


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    """A site secrets folder (0700) with a client certificate (0644) and its key (0600)."""
    folder = tmp_path / "secrets" / "test-site"
    folder.mkdir(mode=0o700, parents=True)
    key = cert_gen.generate_private_key()
    certificate = cert_gen.generate_self_signed_app_certificate(
        key,
        "ferrule",
        {},
        [x509.UniformResourceIdentifier("urn:test:ferrule")],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    (folder / "client.der").write_bytes(certificate.public_bytes(Encoding.DER))
    (folder / "client.pem").touch(mode=0o600)
    (folder / "client.pem").write_bytes(cert_gen.dump_private_key_as_pem(key))
    return folder


def secured_press(certificate: str = "client.der", key: str = "client.pem") -> Device:
    """An OPC UA press with Basic256Sha256 on a port nobody listens on."""
    device = opcua_device("press1", free_port(), {"pressure": {}})
    assert isinstance(device.connection, OpcUaConnection)
    connection = dataclasses.replace(
        device.connection,
        security_policy="Basic256Sha256",
        certificate=certificate,
        private_key=key,
    )
    return dataclasses.replace(device, connection=connection)


def test_a_key_group_or_others_may_read_is_refused_like_ssh_does(secrets: Path) -> None:
    key = secrets / "client.pem"
    for mode in (0o644, 0o640, 0o604, 0o620):
        key.chmod(mode)
        with pytest.raises(SecretError) as refused:
            read_secret(secrets, "private key", "client.pem")
        assert str(refused.value) == "private key client.pem is too open (chmod 600)"
        assert refused.value.full == (
            f"private key {key} must be readable by its owner only (chmod 600)"
        )
    for mode in (0o600, 0o400):
        key.chmod(mode)
        assert read_secret(secrets, "private key", "client.pem").startswith(b"-----BEGIN ")
    (secrets / "client.der").chmod(0o644)  # a certificate is no secret
    assert read_secret(secrets, "certificate", "client.der")[:1] == b"\x30"


def test_a_missing_secret_names_the_file(secrets: Path) -> None:
    with pytest.raises(SecretError) as refused:
        read_secret(secrets, "server certificate", "press.der")
    assert str(refused.value) == "server certificate press.der is not in the secrets folder"
    assert refused.value.full == (
        f"server certificate {secrets / 'press.der'} does not exist "
        f"(put it in the secrets folder {secrets})"
    )


def test_the_adapter_process_logs_every_unusable_secret_once_at_start(
    secrets: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (secrets / "client.pem").chmod(0o644)
    press = secured_press()
    tester = dataclasses.replace(secured_press(certificate="tester.der"), name="tester")
    plain = opcua_device("plain", free_port(), {"pressure": {}})
    assert secret_problems(press, secrets) == [
        f"press1: private key {secrets}/client.pem must be readable by its owner only (chmod 600)"
    ]
    assert secret_problems(plain, secrets) == []
    with caplog.at_level(logging.INFO, logger="ferrule.adapters"):
        report_secrets(make_plant([press, tester, plain]), secrets)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", f"certificates and keys of 2 devices from {secrets}"),
        (
            "ERROR",
            f"press1: private key {secrets}/client.pem must be readable by its owner only "
            "(chmod 600)",
        ),
        (
            "ERROR",
            f"tester: certificate {secrets}/tester.der does not exist (put it in the secrets "
            f"folder {secrets})",
        ),
        (
            "ERROR",
            f"tester: private key {secrets}/client.pem must be readable by its owner only "
            "(chmod 600)",
        ),
    ]


def test_an_unusable_secret_is_the_devices_bad_reason_until_it_is_fixed(
    secrets: Path, short_dir: Path
) -> None:
    (secrets / "client.pem").chmod(0o644)
    runtime = RuntimeThread(make_plant([secured_press()]), short_dir, secrets_dir=secrets)
    cache = runtime.start()
    try:
        refused = wait_for(
            lambda: cache.read("press1.pressure"),
            lambda v: v.reason.startswith("press1: "),
            10,
            "the key refused",
        )
        assert (refused.quality, refused.reason) == (
            Quality.BAD,
            "press1: private key client.pem is too open (chmod 600)",
        )
        (secrets / "client.pem").chmod(0o600)
        # the key is used now: the press itself is what is missing (nobody listens on its port)
        wait_for(
            lambda: cache.read("press1.pressure"),
            lambda v: v.reason == "press1: connection refused",
            10,
            "the key accepted",
        )
    finally:
        cache.close()
        runtime.stop()


def test_a_missing_secret_is_the_devices_bad_reason(secrets: Path, short_dir: Path) -> None:
    plant = make_plant([secured_press(certificate="press1.der")])
    runtime = RuntimeThread(plant, short_dir, secrets_dir=secrets)
    cache = runtime.start()
    try:
        missing = wait_for(
            lambda: cache.read("press1.pressure"),
            lambda v: v.reason.startswith("press1: "),
            10,
            "refused",
        )
        assert missing.reason == "press1: certificate press1.der is not in the secrets folder"
    finally:
        cache.close()
        runtime.stop()


def test_the_secrets_folder_defaults_to_the_sites_folder_under_ferrule_var(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FERRULE_SECRETS", raising=False)
    monkeypatch.delenv("FERRULE_VAR", raising=False)
    assert default_secrets("acme-harness") == Path("var/secrets/acme-harness")
    monkeypatch.setenv("FERRULE_VAR", "/srv/ferrule/var")
    assert default_secrets("acme-harness") == Path("/srv/ferrule/var/secrets/acme-harness")
    monkeypatch.setenv("FERRULE_SECRETS", "/etc/ferrule/secrets")
    assert default_secrets("acme-harness") == Path("/etc/ferrule/secrets")
