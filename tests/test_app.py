from __future__ import annotations

from intake import create_app
from intake.config import from_environment, normalise_database_url


def test_environment_layer():
    env = {"INTAKE_SECRET_KEY": "abc", "INTAKE_SEARCH_LIMIT": "100",
           "DATABASE_URL": "postgres://u@h/db", "OTHER": "x"}
    config = from_environment(env)
    assert config["SECRET_KEY"] == "abc"
    assert config["INTAKE_SEARCH_LIMIT"] == 100
    assert normalise_database_url(config["SQLALCHEMY_DATABASE_URI"]) == "postgresql+psycopg://u@h/db"
    assert "OTHER" not in config


def test_security_headers_and_no_store(desk):
    response = desk.get("/staff/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_not_found_is_plain(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "does not exist" in response.get_data(as_text=True)


def test_json_errors_for_api_clients(client):
    response = client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["status"] == 404


def test_bootstrap_is_served_locally(client):
    page = client.get("/login").get_data(as_text=True)
    assert "cdn.jsdelivr" not in page and "/bootstrap/static/" in page


def test_without_secret_key_login_says_to_run_init(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("INTAKE_SECRET_KEY", raising=False)
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "intake init" in response.get_data(as_text=True)
    from intake.extensions import db
    with app.app_context():
        db.engine.dispose()
