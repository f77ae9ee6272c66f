"""Config versions: deploy, refuse on error, redeploy, rollback, listing, loading stored plants."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dsl.loader import read_folder
from engine.commands import versions
from engine.commands.versions import ConfigRejected
from engine.errors import Conflict, Invalid, NotFound
from engine.infra import audit
from engine.infra.db import Database

ACME = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


def _copy(tmp_path: Path, name: str = "acme-harness") -> Path:
    target = tmp_path / name
    shutil.copytree(ACME, target)
    return target


def _edit(folder: Path, relative: str, old: str, new: str) -> None:
    path = folder / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_deploy_stores_the_bundle_and_activates_it(db: Database) -> None:
    deployment = versions.deploy(db, ACME, actor="ada", note="first release")
    version = deployment.version
    assert (version.id, version.site, version.created_by, version.note) == (
        1,
        "acme-harness",
        "ada",
        "first release",
    )
    assert version.active and deployment.created
    assert versions.active_version(db) == version
    texts, assets = versions.version_files(db, 1)
    assert texts["site.yaml"] == (ACME / "site.yaml").read_text()
    assert "routings/harness-a.yaml" in texts
    assert all(not path.startswith("tests/") for path in [*texts, *assets])
    plant = versions.plant_for_version(db, 1)
    assert plant.content_hash == version.content_hash
    assert set(plant.equipment) == {"crimp-press-1", "tester-1"}


def test_a_plant_with_errors_is_refused_and_the_running_version_stays(
    db: Database, tmp_path: Path
) -> None:
    versions.deploy(db, ACME, actor="ada")
    broken = _copy(tmp_path)
    _edit(broken, "routings/harness-a.yaml", "press1.pressure between", "press1.presure between")
    with pytest.raises(ConfigRejected) as caught:
        versions.deploy(db, broken, actor="ada", note="typo")
    assert caught.value.message == (
        "The plant has 1 error; nothing was deployed and version 1 stays active. Fix the errors "
        f"(`ferrule check {broken}`) and deploy again."
    )
    rendered = caught.value.render()
    assert f"{broken}/routings/harness-a.yaml:" in rendered
    assert "presure" in rendered
    assert [v.id for v in versions.list_versions(db)] == [1]
    assert versions.active_version(db).id == 1  # type: ignore[union-attr]


def test_the_first_deploy_refused_leaves_nothing_active(db: Database, tmp_path: Path) -> None:
    broken = _copy(tmp_path)
    _edit(broken, "site.yaml", "timezone: Europe/Berlin", "timezone: Europe/Berlni")
    with pytest.raises(ConfigRejected) as caught:
        versions.deploy(db, broken, actor="ada")
    assert "no version is active" in caught.value.message
    assert versions.active_version(db) is None
    assert versions.list_versions(db) == []


def test_redeploying_identical_content_stores_no_copy(db: Database) -> None:
    versions.deploy(db, ACME, actor="ada")
    again = versions.deploy(db, ACME, actor="ada", note="same again")
    assert (again.version.id, again.created) == (1, False)
    assert len(versions.activations(db)) == 1


def test_rollback_reactivates_an_older_version(db: Database, tmp_path: Path) -> None:
    versions.deploy(db, ACME, actor="ada")
    changed = _copy(tmp_path)
    _edit(changed, "site.yaml", "line 1 (serialized units)", "line 1 (serialized units, v2)")
    second = versions.deploy(db, changed, actor="ada", note="v2").version
    assert second.id == 2
    listing = versions.list_versions(db)
    assert [(v.id, v.active, v.note) for v in listing] == [(2, True, "v2"), (1, False, "")]
    rolled = versions.rollback(db, 1, actor="ada", reason="v2 breaks the tester")
    assert (rolled.id, rolled.active) == (1, True)
    assert [(a.version_id, a.kind, a.reason) for a in versions.activations(db)] == [
        (1, "deploy", ""),
        (2, "deploy", "v2"),
        (1, "rollback", "v2 breaks the tester"),
    ]
    with db.session() as session:
        trail = audit.history(session, "config_version", 1)
        assert [row["action"] for row in trail] == ["deploy", "rollback"]
        assert audit.verify(session).ok
    # deploying the v2 bundle again re-activates version 2 rather than storing a copy
    assert versions.deploy(db, changed, actor="ada").version.id == 2


def test_rollback_to_the_active_or_a_missing_version_is_refused(db: Database) -> None:
    versions.deploy(db, ACME, actor="ada")
    with pytest.raises(Conflict) as active:
        versions.rollback(db, 1, actor="ada")
    assert active.value.message == "Version 1 is already active; nothing to roll back to."
    with pytest.raises(NotFound) as missing:
        versions.rollback(db, 9, actor="ada")
    assert missing.value.message == (
        "There is no config version 9 (versions are 1 to 1); see `ferrule versions`."
    )


def test_another_site_cannot_be_deployed_into_the_same_database(
    db: Database, tmp_path: Path
) -> None:
    versions.deploy(db, ACME, actor="ada")
    other = _copy(tmp_path, "other")
    _edit(other, "site.yaml", "site: acme-harness", "site: other-site")
    with pytest.raises(Conflict) as caught:
        versions.deploy(db, other, actor="ada")
    assert caught.value.message == (
        "This database runs site 'acme-harness'; refusing to deploy site 'other-site'. Give each "
        "site its own database (FERRULE_DATABASE_URL)."
    )


def test_deploying_from_file_texts_and_reloading_a_stored_version(db: Database) -> None:
    files = {
        path.relative_to(ACME).as_posix(): path.read_text()
        for path in ACME.rglob("*")
        if path.is_file() and path.suffix in {".yaml", ".md", ".svg"}
    }
    deployment = versions.deploy(db, files, actor="web", label="upload")
    versions._plants_by_hash.clear()  # force a load from the stored files
    versions._plants_by_database.clear()
    plant = versions.plant_for_version(db, deployment.version.id)
    assert plant.content_hash == deployment.version.content_hash
    assert plant.site.span.path == "plants/acme-harness/site.yaml"


def test_a_missing_folder_is_named(db: Database, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        versions.deploy(db, tmp_path / "nope", actor="ada")
    assert caught.value.message == (
        f"There is no plant folder '{tmp_path / 'nope'}'; give the path of a plant folder."
    )


def test_nothing_deployed_yet_is_a_clear_error(db: Database) -> None:
    with pytest.raises(NotFound) as caught:
        versions.active_plant(db)
    assert caught.value.message == (
        "No plant config is deployed yet; deploy one with `ferrule deploy PLANT_DIR`."
    )


def test_a_symbolic_link_in_the_plant_folder_is_refused_naming_it(
    db: Database, tmp_path: Path
) -> None:
    secret = tmp_path / "var" / "secret_key"
    secret.parent.mkdir()
    secret.write_text("the flask secret key")
    plant = _copy(tmp_path)
    link = plant / "instructions" / "img" / "key.png"
    link.symlink_to(secret)
    with pytest.raises(Invalid) as caught:
        versions.deploy(db, plant, actor="ada")
    assert caught.value.message == (
        f"{link} is a symbolic link; Ferrule deploys only regular files inside the plant folder. "
        "Replace the link with a copy of the file."
    )
    link.unlink()
    (plant / "instructions" / "shared").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(Invalid) as folder:
        versions.deploy(db, plant, actor="ada")
    assert folder.value.message.startswith(f"{plant / 'instructions' / 'shared'} is a symbolic")
    assert versions.list_versions(db) == []


def test_a_pipe_in_the_plant_folder_is_refused(db: Database, tmp_path: Path) -> None:
    plant = _copy(tmp_path)
    pipe = plant / "instructions" / "feed"
    os.mkfifo(pipe)
    with pytest.raises(Invalid) as caught:
        versions.deploy(db, plant, actor="ada")
    assert caught.value.message == (
        f"{pipe} is not a regular file (a pipe, socket or device); remove it from the plant folder."
    )


PNG_RED = b"\x89PNG\r\n\x1a\n red pixels"
PNG_BLUE = b"\x89PNG\r\n\x1a\n blue pixels"


def test_a_bundle_whose_only_change_is_an_image_is_a_new_version(
    db: Database, tmp_path: Path
) -> None:
    plant = _copy(tmp_path)
    image = plant / "instructions" / "img" / "photo.png"
    image.write_bytes(PNG_RED)
    first = versions.deploy(db, plant, actor="ada").version
    image.write_bytes(PNG_BLUE)
    second = versions.deploy(db, plant, actor="ada")
    assert (second.version.id, second.created, second.version.active) == (2, True, True)
    assert second.version.content_hash != first.content_hash
    assert versions.version_files(db, 2)[1]["instructions/img/photo.png"] == PNG_BLUE
    image.write_bytes(PNG_RED)  # the first bundle again: its version comes back
    assert versions.deploy(db, plant, actor="ada").version.id == 1


def test_an_uploaded_bundle_keeps_its_tests_for_the_check_but_not_in_the_version(
    db: Database,
) -> None:
    texts, _ = read_folder(ACME)
    assert any(p.startswith("tests/") for p in texts)
    assets = {"instructions/img/photo.png": PNG_RED, "tests/fixtures/scan.png": PNG_BLUE}
    bundle = versions.check_bundle(texts, assets=assets, label="upload")
    assert bundle.has_tests
    assert all(not p.startswith("tests/") for p in bundle.plant_files)
    assert (dict(bundle.assets), dict(bundle.test_assets)) == (
        {"instructions/img/photo.png": PNG_RED},
        {"tests/fixtures/scan.png": PNG_BLUE},
    )
    deployed = versions.deploy(db, texts, assets=assets, actor="web", label="upload")
    stored_texts, stored_assets = versions.version_files(db, deployed.version.id)
    assert all(not p.startswith("tests/") for p in [*stored_texts, *stored_assets])
    assert stored_assets == {"instructions/img/photo.png": PNG_RED}


def test_the_changes_between_two_versions_file_by_file(db: Database, tmp_path: Path) -> None:
    plant = _copy(tmp_path)
    image = plant / "instructions" / "img" / "photo.png"
    image.write_bytes(PNG_RED)
    versions.deploy(db, plant, actor="ada")
    image.write_bytes(PNG_BLUE)
    _edit(plant, "site.yaml", "line 1 (serialized units)", "line 1 (serialized units, v2)")
    versions.deploy(db, plant, actor="ada")
    changes = versions.version_changes(db, 1, 2)
    assert [(c.path, c.change, c.binary) for c in changes] == [
        ("instructions/img/photo.png", "changed", True),
        ("site.yaml", "changed", False),
    ]
    text = changes[1].lines
    assert text[:2] == ("--- v1/site.yaml", "+++ v2/site.yaml")
    assert [line for line in text if line[:1] in "+-" and line[:3] not in ("---", "+++")] == [
        "-description: Wire-harness assembly, line 1 (serialized units)",
        "+description: Wire-harness assembly, line 1 (serialized units, v2)",
    ]
    assert versions.version_changes(db, 2, 2) == ()
