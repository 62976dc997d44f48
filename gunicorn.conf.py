"""gunicorn settings for intake: `gunicorn -c gunicorn.conf.py`.

Environment: HOST (default 127.0.0.1) and PORT (default 8000) for the bind
address, WEB_CONCURRENCY worker processes (default 2), GUNICORN_THREADS
threads per worker (default 4), GUNICORN_TIMEOUT seconds (default 30).
Several app servers need PostgreSQL (DATABASE_URL) and Redis for the login
limits (INTAKE_RATELIMIT_STORAGE_URI); SQLite suits one server.
"""

import os

wsgi_app = "intake:create_app()"
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))  # >1 selects the gthread worker
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Refuse oversized request lines and headers early.
limit_request_line = 8190
limit_request_fields = 100
# Access log without query strings (%(U)s is the path only): searches are
# POSTed, but a stray query string must not carry patient data into logs.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
# Files the server process creates are owner-only (intake/private.py does the rest).
umask = 0o077
# Query strings redacted whole from every access and error line (intake/logs.py).
logger_class = "intake.logs.GunicornLogger"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Proxy headers only from a proxy on this machine.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_exit(server):
    """The server stops: anchor the audit chain (intake/services/audit.py)."""
    from intake.services.audit import anchor_at_shutdown

    try:
        app = server.app.wsgi()
    except Exception:  # noqa: BLE001 - the app never loaded: nothing to anchor
        return
    if hasattr(app, "app_context"):
        anchor_at_shutdown(app)


def when_ready(server):
    """The address on a plain line of its own, after the JSON log lines:
    what someone who typed `make run` looks for."""
    host, _, port = bind.rpartition(":")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "") else host
    print(f"\nintake is running: open http://{shown}:{port}/ (stop with Ctrl+C)\n", flush=True)
