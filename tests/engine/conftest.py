"""Engine test fixtures: demo users on the deployed demo plant (``db`` and ``plant`` come from
tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import update
from testdata import PASSWORD

from dsl.model import Plant
from engine.access import people
from engine.infra.db import Database
from engine.records.tables import User


@dataclass(frozen=True)
class DemoUsers:
    """Usernames of the demo users by role; every one has the password ``PASSWORD``."""

    operator: str = "olga"
    supervisor: str = "sam"
    quality: str = "quinn"
    engineer: str = "erin"
    admin: str = "ada"
    password: str = PASSWORD


@pytest.fixture
def users(db: Database, plant: Plant, password_hash: str) -> DemoUsers:
    """Demo users with roles; the operator holds every qualification of the plant."""
    demo = DemoUsers()
    roles = {
        demo.operator: "operator",
        demo.supervisor: "supervisor",
        demo.quality: "quality",
        demo.engineer: "engineer",
        demo.admin: "admin",
    }
    with db.transaction() as session:
        for username, role in roles.items():
            people.create_user(session, username, actor="setup", full_name=username.title())
            people.grant_role(session, username, role, actor="setup", plant=plant)
        for qualification in plant.qualifications:
            people.grant_qualification(
                session, demo.operator, qualification, actor="setup", plant=plant
            )
        session.execute(update(User).values(password_hash=password_hash))
    return demo
