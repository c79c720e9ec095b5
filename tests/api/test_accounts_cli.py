"""``onnxhub users``, ``tokens`` and ``collaborators`` on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hub.api import Hub
from hub.catalog import access, accounts
from hub.cli.main import cli
from hub.errors import Unauthorized


@pytest.fixture
def env(tmp_path, database_url) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "ONNXHUB_HOME": str(tmp_path / "home"),
        "ONNXHUB_DATABASE_URL": database_url,
        "ONNXHUB_USER": "",
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_users_and_tokens(env) -> None:  # type: ignore[no-untyped-def]
    assert _run(env, "users", "add", "alice")[0] == 0
    assert _run(env, "users", "add", "root", "--admin", "--display-name", "Root")[0] == 0
    code, _, err = _run(env, "users", "add", "alice")
    assert code == 4 and "already exists" in err
    code, _, err = _run(env, "users", "add", "../x")
    assert code == 2 and "invalid user name" in err
    code, out, _ = _run(env, "users", "list", "--json")
    assert [(u["name"], u["admin"]) for u in json.loads(out)] == [("alice", False), ("root", True)]

    code, out, err = _run(
        env, "tokens", "create", "alice", "--scope", "write", "--expires-in", "30d"
    )
    assert code == 0 and "not shown again" in err
    secret = out.strip()
    assert secret.startswith("onh_") and len(secret) == 47
    code, _, err = _run(env, "tokens", "create", "alice", "--scope", "admin")
    assert code == 2 and "not an admin" in err
    code, _, err = _run(env, "tokens", "create", "alice", "--expires-in", "soon")
    assert code == 2 and "invalid duration" in err
    code, _, err = _run(env, "tokens", "create", "nobody")
    assert code == 3 and "unknown user 'nobody'" in err

    code, out, _ = _run(env, "tokens", "list", "alice", "--json")
    listed = json.loads(out)
    assert secret not in out and listed[0]["prefix"] == secret[:8]
    assert listed[0]["scopes"] == ["write"] and listed[0]["expires_at"] is not None
    with Hub(_settings(env)) as hub:
        principal = hub.db.transaction(lambda s: accounts.authenticate(s, secret))
    assert principal.user == "alice" and principal.has_scope("read")
    assert not principal.has_scope("admin")

    assert _run(env, "tokens", "revoke", str(listed[0]["id"]))[0] == 0
    with Hub(_settings(env)) as hub, pytest.raises(Unauthorized, match="revoked"):
        hub.db.transaction(lambda s: accounts.authenticate(s, secret))
    code, _, err = _run(env, "tokens", "revoke", "999")
    assert code == 3 and "unknown token id 999" in err


def test_collaborators(env, logreg) -> None:  # type: ignore[no-untyped-def]
    model, X = logreg
    with Hub(_settings(env)) as hub:
        hub.publish(model, name="iris", sample=X)
    assert _run(env, "users", "add", "bob")[0] == 0
    code, out, err = _run(env, "collaborators", "add", "iris", "bob")
    assert code == 0, err
    code, _, err = _run(env, "collaborators", "add", "iris", "bob")
    assert code == 4 and "already collaborates" in err
    code, _, err = _run(env, "collaborators", "add", "nosuch", "bob")
    assert code == 3 and "unknown model" in err
    assert _run(env, "collaborators", "list", "iris")[1].split() == ["bob"]
    with Hub(_settings(env)) as hub, hub.db.session() as session:
        record = access.model_access(session, "iris")
    assert record is not None and record.collaborators == frozenset({"bob"})
    assert _run(env, "collaborators", "remove", "iris", "bob")[0] == 0
    code, _, err = _run(env, "collaborators", "remove", "iris", "bob")
    assert code == 3 and "not a collaborator" in err


def _settings(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from hub.settings import Settings

    return Settings.from_env({k: v for k, v in env.items() if v})
