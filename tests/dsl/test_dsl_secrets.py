"""Keys and certificates never enter a plant (issue 9): a plant folder holding one is refused,
devices name them as plain files of the site secrets folder, and ``ferrule check --secrets DIR``
checks that folder. Diagnostics are asserted as ``ferrule check`` prints them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from dsl import load, load_files
from dsl.loader import LoadResult, SecretsFolder, read_folder
from web.cli import cli

KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
PRIVATE_KEY = f"-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----\n"
RSA_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----\n"
HINT = "  hint: move it to the site secrets folder (see docs/adapters.md)"
PLAIN = 'opcua: {endpoint: "opc.tcp://127.0.0.1:4840"}'
SECURED = (
    'opcua: {endpoint: "opc.tcp://127.0.0.1:4840", security_policy: Basic256Sha256, '
    "certificate: client.der, private_key: client.pem}"
)
SECURED_LINE = f"        {SECURED}"

Edit = Callable[[str, str, str], dict[str, str]]


# ---------------------------------------------------------------- keys in the plant folder


def test_a_private_key_in_the_plant_folder_is_an_error_naming_the_file(
    load_plant: Callable[..., LoadResult],
) -> None:
    result = load_plant({"pki/client.pem": PRIVATE_KEY})
    assert result.plant is None
    assert result.render() == (
        "plant/pki/client.pem:1:1: error: 'pki/client.pem' holds a private key, which must not "
        "be in the plant folder\n"
        "    -----BEGIN PRIVATE KEY-----\n"
        "    ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n" + HINT
    )


def test_a_key_is_found_by_its_pem_block_whatever_the_file_is_called(
    load_plant: Callable[..., LoadResult],
) -> None:
    """Any file: an RSA key pasted into a work instruction, a key and its certificate in one file
    (the key is named), a key among the config tests."""
    result = load_plant(
        {
            "instructions/assemble.md": f"# Assemble\n\n{RSA_KEY}",
            "pki/both.txt": CERTIFICATE + PRIVATE_KEY,
            "tests/setup.txt": PRIVATE_KEY,
        }
    )
    assert result.plant is None
    assert result.render() == (
        "plant/instructions/assemble.md:3:1: error: 'instructions/assemble.md' holds a private "
        "key, which must not be in the plant folder\n"
        "    -----BEGIN RSA PRIVATE KEY-----\n"
        "    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n" + HINT + "\n"
        "plant/pki/both.txt:4:1: error: 'pki/both.txt' holds a private key, which must not be in "
        "the plant folder\n"
        "    -----BEGIN PRIVATE KEY-----\n"
        "    ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n" + HINT + "\n"
        "plant/tests/setup.txt:1:1: error: 'tests/setup.txt' holds a private key, which must not "
        "be in the plant folder\n" + HINT
    )


def test_a_certificate_in_the_plant_folder_is_an_error(
    load_plant: Callable[..., LoadResult],
) -> None:
    result = load_plant({"instructions/server.md": f"Trust this:\n\n    {CERTIFICATE}"})
    assert result.render() == (
        "plant/instructions/server.md:3:5: error: 'instructions/server.md' holds a certificate, "
        "which must not be in the plant folder\n"
        "        -----BEGIN CERTIFICATE-----\n"
        "        ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n" + HINT
    )


def test_binary_key_and_certificate_files_are_refused_by_their_name(
    base_files: dict[str, str],
) -> None:
    """A DER key or certificate, a PKCS#12 store: binary, so recognised by the file name."""
    binary = frozenset({"pki/client.KEY", "pki/client.der", "pki/store.p12", "pki/store.pfx"})
    result = load_files(base_files, "plant", binary_paths=binary | {"instructions/a.png"})
    assert result.plant is None
    assert result.render() == "\n".join(
        f"plant/{path}:1:1: error: '{path}' is a {suffix} file (a key or certificate), which "
        f"must not be in the plant folder\n{HINT}"
        for path, suffix in (
            ("pki/client.KEY", ".key"),
            ("pki/client.der", ".der"),
            ("pki/store.p12", ".p12"),
            ("pki/store.pfx", ".pfx"),
        )
    )


def test_a_text_file_named_like_a_key_is_refused_even_without_a_pem_block(
    load_plant: Callable[..., LoadResult],
) -> None:
    result = load_plant({"pki/ssh.key": "not PEM, but named like a key\n"})
    assert result.render() == (
        "plant/pki/ssh.key:1:1: error: 'pki/ssh.key' is a .key file (a key or certificate), "
        "which must not be in the plant folder\n"
        "    not PEM, but named like a key\n"
        "    ^\n" + HINT
    )


def test_a_plant_folder_holding_a_key_cannot_be_deployed(
    plant_dir: Callable[..., Path],
) -> None:
    """What a deploy does with a folder (engine.commands.versions.check_bundle): read_folder,
    then load_files with the files that are not UTF-8 as binary assets. The plant is refused, so
    nothing can be stored, and the key's body is nowhere in what the loader was given."""
    folder = plant_dir({"pki/client.pem": PRIVATE_KEY})
    (folder / "pki" / "client.p12").write_bytes(b"\x30\x82\x09\xff\x02\x01\x03\x80")
    texts, binary = read_folder(folder)
    assets = frozenset(p for p in binary if not _is_utf8(folder / p))
    result = load_files(texts, str(folder), binary_paths=assets)
    assert result.plant is None
    assert [(d.span.path, d.message) for d in result.errors] == [
        (
            f"{folder}/pki/client.p12",
            "'pki/client.p12' is a .p12 file (a key or certificate), which must not be in the "
            "plant folder",
        ),
        (
            f"{folder}/pki/client.pem",
            "'pki/client.pem' holds a private key, which must not be in the plant folder",
        ),
    ]
    assert all(KEY_BODY not in text for text in texts.values())
    assert all(KEY_BODY not in text for text in result.sources.values())
    assert load(folder).render() == result.render()


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ---------------------------------------------------------------- naming secrets


def test_an_absolute_secret_path_is_refused(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    new = 'opcua: {endpoint: "opc.tcp://127.0.0.1:4840", certificate: /etc/ferrule/client.der}'
    result = load_plant(edit("site.yaml", PLAIN, new))
    assert result.plant is None
    assert _rendered(result, "certificate must") == (
        "plant/site.yaml:11:64: error: certificate must be a file name in the site secrets "
        "folder, not an absolute path\n"
        f"        {new}\n"
        "                                                                   "
        "^^^^^^^^^^^^^^^^^^^^^^^\n"
        "  hint: write the file's name only, like certificate: client.der, and keep the file in "
        "the site secrets folder (see docs/adapters.md)"
    )


def test_a_secret_path_out_of_the_folder_is_refused(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    new = 'opcua: {endpoint: "opc.tcp://127.0.0.1:4840", server_certificate: ../press.der}'
    result = load_plant(edit("site.yaml", PLAIN, new))
    assert result.plant is None
    assert _rendered(result, "server_certificate must") == (
        "plant/site.yaml:11:71: error: server_certificate must be a file name in the site "
        "secrets folder, not a path out of it\n"
        f"        {new}\n"
        "                                                                          ^^^^^^^^^^^^\n"
        "  hint: write the file's name only, like server_certificate: press.der, and keep the "
        "file in the site secrets folder (see docs/adapters.md)"
    )


def _rendered(result: LoadResult, message_start: str) -> str:
    """The one diagnostic whose message starts so, rendered. (The schema's check of file paths
    reports absolute and ``..`` paths as well, with its own message.)"""
    (found,) = [d for d in result.diagnostics if d.message.startswith(message_start)]
    return found.render(result.sources)


def test_secret_names_are_listed_as_unchecked_without_a_secrets_folder(
    load_plant: Callable[..., LoadResult], edit: Edit
) -> None:
    result = load_plant(edit("site.yaml", PLAIN, SECURED))
    assert result.diagnostics == ()
    assert result.unchecked_secrets == ("client.der", "client.pem")
    assert load_plant().unchecked_secrets == ()


# ---------------------------------------------------------------- the secrets folder


def _secrets(tmp_path: Path, files: dict[str, int]) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    for name, mode in files.items():
        (folder / name).write_bytes(b"secret")
        (folder / name).chmod(mode)
    return folder


def test_with_the_secrets_folder_the_named_files_must_be_in_it(
    base_files: dict[str, str], edit: Edit, tmp_path: Path
) -> None:
    folder = _secrets(tmp_path, {"client-key.pem": 0o600})
    files = edit("site.yaml", PLAIN, SECURED)
    result = load_files(files, "plant", secrets=SecretsFolder.read(folder))
    assert result.plant is None
    assert result.unchecked_secrets == ()
    assert result.render() == (
        f"plant/site.yaml:11:97: error: certificate 'client.der' is not in the secrets folder "
        f"{folder}\n"
        f"{SECURED_LINE}\n" + " " * 100 + "^^^^^^^^^^\n"
        "  hint: put the file there, or correct the name (see docs/adapters.md)\n"
        f"plant/site.yaml:11:122: error: private_key 'client.pem' is not in the secrets folder "
        f"{folder}\n"
        f"{SECURED_LINE}\n" + " " * 125 + "^^^^^^^^^^\n"
        "  hint: did you mean 'client-key.pem'?"
    )


def test_with_the_secrets_folder_a_key_others_may_read_is_an_error(
    edit: Edit, tmp_path: Path
) -> None:
    folder = _secrets(tmp_path, {"client.der": 0o644, "client.pem": 0o644})
    result = load_files(
        edit("site.yaml", PLAIN, SECURED), "plant", secrets=SecretsFolder.read(folder)
    )
    assert result.render() == (
        f"plant/site.yaml:11:122: error: private key {folder}/client.pem must be readable by its "
        "owner only (chmod 600)\n"
        f"{SECURED_LINE}\n" + " " * 125 + "^^^^^^^^^^\n"
        "  hint: the adapter process refuses a key that group or others may read (this one is "
        "0644)"
    )


def test_with_the_secrets_folder_a_plant_whose_secrets_are_there_loads(
    edit: Edit, tmp_path: Path
) -> None:
    folder = _secrets(tmp_path, {"client.der": 0o644, "client.pem": 0o600})
    result = load_files(
        edit("site.yaml", PLAIN, SECURED), "plant", secrets=SecretsFolder.read(folder)
    )
    assert (result.diagnostics, result.unchecked_secrets) == ((), ())
    assert result.plant is not None


# ---------------------------------------------------------------- ferrule check


def _check(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, ["check", *args])
    return outcome.exit_code, outcome.output


def test_check_without_secrets_notes_what_it_could_not_check(
    plant_dir: Callable[..., Path], edit: Edit
) -> None:
    folder = plant_dir(edit("site.yaml", PLAIN, SECURED))
    code, output = _check(str(folder))
    assert code == 0
    assert output == (
        "note: 2 secret files not checked (client.der, client.pem): give --secrets DIR to check "
        "that the site secrets folder has them\n"
        f"{folder}: ok, site demo: 2 devices, 3 tags, 1 equipment, 1 routing, 2 operations\n"
    )


def test_check_with_secrets_checks_them(
    plant_dir: Callable[..., Path], edit: Edit, tmp_path: Path
) -> None:
    folder = plant_dir(edit("site.yaml", PLAIN, SECURED))
    secrets = _secrets(tmp_path, {"client.der": 0o644})
    code, output = _check(str(folder), "--secrets", str(secrets))
    assert code == 1
    assert output.startswith(
        f"{folder}/site.yaml:11:122: error: private_key 'client.pem' is not in the secrets "
        f"folder {secrets}\n"
    )
    assert output.endswith(f"{folder}: 1 error, 0 warnings\n")
    (secrets / "client.pem").write_bytes(b"key")
    (secrets / "client.pem").chmod(0o600)
    code, output = _check("--format", "json", str(folder), "--secrets", str(secrets))
    assert code == 0
    assert '"notes": []' in output


def test_check_json_carries_the_note(plant_dir: Callable[..., Path], edit: Edit) -> None:
    folder = plant_dir(edit("site.yaml", PLAIN, SECURED))
    code, output = _check("--format", "json", str(folder))
    assert code == 0
    assert (
        '"notes": [\n    "2 secret files not checked (client.der, client.pem): give --secrets '
        'DIR to check that the site secrets folder has them"\n  ]'
    ) in output
