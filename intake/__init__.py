"""intake: medical-office patient intake. `create_app` builds the application."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    # Imported here so `intake.codes` (no Flask) loads without Flask.
    from flask import Flask

    app = Flask(
        __name__,
        # The instance folder: INTAKE_INSTANCE_PATH, or ./instance where the
        # app is started (make run, gunicorn, the CLI), never inside the package.
        instance_path=os.path.abspath(os.environ.get("INTAKE_INSTANCE_PATH") or "instance"),
        instance_relative_config=True,
    )
    from intake import config as cfg

    app.config.from_object(cfg.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(cfg.from_environment(os.environ))
    if config:
        app.config.update(config)
    _finish_config(app)
    from intake import logs
    logs.init_app(app)  # first: request ids on every hook's lines; no PHI in logs

    from intake import database
    from intake.sessions import KioskSessionInterface, select_locale
    from intake.extensions import babel, bootstrap, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.session_interface = KioskSessionInterface()  # kiosk pages get their own cookie
    with app.app_context():
        database.configure_engine(db.engine)

    from intake import errors, inputs, security, tasks, templating

    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    inputs.init_app(app)  # NUL in URLs, ids past INTEGER: 400/404 before any view
    tasks.init_app(app)  # the worker's queue, from this app's configuration
    database.commit_at_the_edge(app)  # last: its after_request hook runs first

    from intake.blueprints.admin import bp as admin_bp
    from intake.blueprints.auth import bp as auth_bp
    from intake.blueprints.billing import bp as billing_bp
    from intake.blueprints.fhir_api import bp as fhir_bp
    from intake.blueprints.kiosk import bp as kiosk_bp
    from intake.blueprints.staff import bp as staff_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(billing_bp, url_prefix="/billing")
    app.register_blueprint(fhir_bp, url_prefix="/fhir")
    csrf.exempt(fhir_bp)  # bearer tokens, no cookies: nothing to forge
    app.register_blueprint(kiosk_bp, url_prefix="/kiosk")
    return app


def _finish_config(app: Flask) -> None:
    from intake.config import default_database_url, normalise_database_url

    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or default_database_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(uri)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A database server may drop idle connections; a SQLite file cannot.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("pool_pre_ping", True)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app.config.setdefault("INTAKE_UPLOAD_DIR", str(Path(app.instance_path) / "uploads"))
    if not app.config.get("SECRET_KEY"):
        key_file = Path(app.instance_path) / "secret_key"
        if key_file.exists():
            app.config["SECRET_KEY"] = key_file.read_text().strip()
        # Otherwise `intake init` writes one; until then sessions cannot start
        # and the login page says to run it (see security.require_secret_key).
