"""Bounceback settings.

Every setting comes from an environment variable with a safe default, so the
embedded set-up (SQLite under ./var, database task backend, console email) needs
no configuration at all and production changes only the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("BOUNCEBACK_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """The SECRET_KEY from the environment, or one generated once into the data directory.

    The generated key never leaves the data directory, so it is never committed,
    and it survives restarts so sessions and signed links stay valid.
    """
    from_env = os.environ.get("SECRET_KEY", "").strip()
    if from_env:
        return from_env
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "ninja",
    "bounceback.accounts",
    "bounceback.audit",
    "bounceback.apitokens",
    "bounceback.api",
    "bounceback.sites",
    "bounceback.customers",
    "bounceback.transactions",
    "bounceback.interactions",
    "bounceback.imports",
    "bounceback.timers",
    "bounceback.background",
    "bounceback.notifications",
    "bounceback.outbox",
    "bounceback.coach",
    "bounceback.cases",
    "bounceback.failuremodes",
    "bounceback.playbooks",
    "bounceback.breakdowns",
    "bounceback.mail",
    "bounceback.portal",
    "bounceback.webhooks",
    "bounceback.segments",
    "bounceback.funds",
    "bounceback.loyalty",
    "bounceback.search",
    "bounceback.savedviews",
    "bounceback.replies",
    "bounceback.signals",
    "bounceback.discovery",
    "bounceback.learning",
    "bounceback.stories",
    "bounceback.dashboards",
    "bounceback.drills",
    "bounceback.web",
    "bounceback.demo",
    "bounceback.server",
]

MIDDLEWARE = [
    # First: X-Forwarded-* are believed only from BOUNCEBACK_TRUSTED_PROXIES.
    "bounceback.web.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "bounceback.web.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bounceback.web.middleware.StaffLoginRequiredMiddleware",
    "bounceback.web.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bounceback.api.idempotency.IdempotencyMiddleware",
    "bounceback.web.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "bounceback.config.urls"
WSGI_APPLICATION = "bounceback.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bounceback.web.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "bounceback.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DATABASE_IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if DATABASE_IS_SQLITE:
    # WAL lets the web server read while the worker writes; IMMEDIATE takes the
    # write lock at BEGIN so two writers queue up instead of failing on upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env_int("BOUNCEBACK_SQLITE_TIMEOUT", 20),
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # Test runs that start worker processes need a database file they can share.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_bounceback.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work ------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TASK_BACKEND = os.environ.get("BOUNCEBACK_TASK_BACKEND", "database").strip().lower()
if TASK_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
elif TASK_BACKEND == "redis":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif TASK_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    raise ImproperlyConfigured(
        f"BOUNCEBACK_TASK_BACKEND must be database, redis or immediate, not {TASK_BACKEND!r}"
    )
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
# Work in progress (a message being sent, a job being run) is leased to its
# worker for this long and renewed while the worker lives: a worker that dies
# has its work taken over within about twice this. Deliveries that fail for a
# temporary reason are first retried after RETRY_SECONDS, doubling to an hour.
BOUNCEBACK_LEASE_SECONDS = env_int("BOUNCEBACK_LEASE_SECONDS", 30)
BOUNCEBACK_RETRY_SECONDS = env_int("BOUNCEBACK_RETRY_SECONDS", 30)
if BOUNCEBACK_LEASE_SECONDS < 2 or BOUNCEBACK_RETRY_SECONDS < 1:
    raise ImproperlyConfigured(
        "BOUNCEBACK_LEASE_SECONDS must be at least 2 and BOUNCEBACK_RETRY_SECONDS at least 1"
    )

# --- Cache ---------------------------------------------------------------------
# Shared state between web nodes lives in the database (or Redis when the Redis
# task backend is chosen), never in process memory.
if TASK_BACKEND == "redis" or os.environ.get("CACHE_URL", "").startswith("redis"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("CACHE_URL", REDIS_URL),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
# The longest an account's sign-ins are slowed after failures from many addresses.
LOGIN_DELAY_MAX_SECONDS = env_int("LOGIN_DELAY_MAX_SECONDS", 300)

# --- Security --------------------------------------------------------------------
# Where customers and staff reach this installation (magic links, survey links,
# webhooks' case links). Unset, it is this machine at the port `bounceback
# serve` listens on (PORT), so `make run PORT=9000` links to :9000. Behind a
# proxy, set it to the public https address.
BOUNCEBACK_PUBLIC_URL = (
    os.environ.get("BOUNCEBACK_PUBLIC_URL", "").strip()
    or f"http://127.0.0.1:{os.environ.get('PORT', '').strip() or 8000}"
).rstrip("/")
# Cookies are Secure (sent only over https) unless the public address is plain
# http: a browser would never send a Secure cookie to http://127.0.0.1, and
# sign-in would silently fail. Not tied to DEBUG, so a local run can serve the
# product's own error pages and still sign in.
_PUBLIC_OVER_HTTP = BOUNCEBACK_PUBLIC_URL.lower().startswith("http://")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not _PUBLIC_OVER_HTTP)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not _PUBLIC_OVER_HTTP)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Email -------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# EMAIL_TIMEOUT bounds connecting to the mail server; once connected it may take
# as long to answer as RFC 5321 (4.5.3.2) allows: ten minutes for the end of DATA.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
BOUNCEBACK_SMTP_REPLY_TIMEOUT = env_int("BOUNCEBACK_SMTP_REPLY_TIMEOUT", 600)
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Bounceback <care@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# WhiteNoise serves straight from the packaged static folders, so no node needs a
# collectstatic step before it can serve (web nodes stay stateless).
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 3600
MEDIA_ROOT = DATA_DIR / "media"

# --- Bounceback -------------------------------------------------------------------
# The business's own currency: lifetime value and money reports are kept in it.
BOUNCEBACK_CURRENCY = os.environ.get("BOUNCEBACK_CURRENCY", "USD").upper()
BULK_UPSERT_LIMIT = 10_000
# How often the worker's clock scans for spikes (discovery's suspected breakdowns).
BOUNCEBACK_DISCOVERY_SCAN_MINUTES = int(os.environ.get("BOUNCEBACK_DISCOVERY_SCAN_MINUTES", "15"))
# A 10,000-item bulk body is about 3.5 MB of JSON; Django's default (2.5 MB)
# refuses it with a bare 400 before the API sees it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 32 * 1024 * 1024)
API_PAGE_SIZE_MAX = 500


def env_rates(name: str, default: str) -> dict[str, int]:
    """ "email=1200,sms=60" -> {"email": 1200, "sms": 60}: messages per minute per channel."""
    raw = os.environ.get(name, "").strip() or default
    rates: dict[str, int] = {}
    for item in raw.split(","):
        channel, _, value = item.partition("=")
        try:
            rate = int(value.strip())
        except ValueError:
            rate = 0
        if not channel.strip() or rate < 1:
            raise ImproperlyConfigured(
                f"{name} must look like 'email=1200,sms=60' (messages per minute), not {raw!r}"
            )
        rates[channel.strip().lower()] = rate
    return rates


# How fast messages may leave on each channel (a provider's limit): a wave's
# messages are spaced at it when written, and the delivery lanes never send
# faster whatever falls due at once. Also how many customers a breakdown's
# outreach contacts per database transaction.
BOUNCEBACK_OUTREACH_PER_MINUTE = env_rates("BOUNCEBACK_OUTREACH_PER_MINUTE", "email=1200,web=1200")
BOUNCEBACK_OUTREACH_CHUNK = env_int("BOUNCEBACK_OUTREACH_CHUNK", 5000)
if BOUNCEBACK_OUTREACH_CHUNK < 1:
    raise ImproperlyConfigured("BOUNCEBACK_OUTREACH_CHUNK must be at least 1")
# Database connections a large outreach or wave works on side by side (PostgreSQL
# only): most of its time is the database's, so a second core halves it.
BOUNCEBACK_BULK_CONNECTIONS = env_int("BOUNCEBACK_BULK_CONNECTIONS", 2)
if not 1 <= BOUNCEBACK_BULK_CONNECTIONS <= 16:
    raise ImproperlyConfigured("BOUNCEBACK_BULK_CONNECTIONS must be between 1 and 16")

# --- Channels (issue 6) ------------------------------------------------------------
# BOUNCEBACK_PUBLIC_URL (where links in messages to customers point) is set
# with the security settings above: the cookies' Secure flag follows it.

# mail: email intake and replies. A message bigger than MAIL_MAX_BYTES is kept
# for a person (HELD), never parsed; attachments over the per-file size or past
# the count are recorded as skipped. A sender writing more than MAIL_LOOP_LIMIT
# messages in 10 minutes is probably a loop: the extra ones are held.
BOUNCEBACK_MAIL_MAX_BYTES = env_int("BOUNCEBACK_MAIL_MAX_BYTES", 25 * 1024 * 1024)
BOUNCEBACK_MAIL_ATTACHMENT_MAX_BYTES = env_int(
    "BOUNCEBACK_MAIL_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024
)
BOUNCEBACK_MAIL_ATTACHMENTS_MAX = env_int("BOUNCEBACK_MAIL_ATTACHMENTS_MAX", 20)
BOUNCEBACK_MAIL_LOOP_LIMIT = env_int("BOUNCEBACK_MAIL_LOOP_LIMIT", 20)
# The address customers reply to; replies go to its plus-address per case
# (care+BB-00012@example.com), so the mailbox must accept plus-addressing.
# Empty: the address in DEFAULT_FROM_EMAIL.
BOUNCEBACK_MAIL_REPLY_ADDRESS = os.environ.get("BOUNCEBACK_MAIL_REPLY_ADDRESS", "").strip()
# IMAP polling: the worker reads new mail from this mailbox every POLL_SECONDS.
# An empty host turns polling off. SECURITY is ssl (IMAPS, port 993), starttls
# or plain (port 143); plain sends the password in clear, so it is never the
# default. TLS_VERIFY=false accepts any certificate (a test server); a private
# CA is better given as CA_FILE.
BOUNCEBACK_IMAP_HOST = os.environ.get("BOUNCEBACK_IMAP_HOST", "").strip()
BOUNCEBACK_IMAP_SECURITY = os.environ.get("BOUNCEBACK_IMAP_SECURITY", "").strip().lower() or "ssl"
if BOUNCEBACK_IMAP_SECURITY not in {"ssl", "starttls", "plain"}:
    raise ImproperlyConfigured(
        "BOUNCEBACK_IMAP_SECURITY must be ssl, starttls or plain, "
        f"not {os.environ.get('BOUNCEBACK_IMAP_SECURITY')!r}"
    )
BOUNCEBACK_IMAP_PORT = env_int(
    "BOUNCEBACK_IMAP_PORT", 993 if BOUNCEBACK_IMAP_SECURITY == "ssl" else 143
)
BOUNCEBACK_IMAP_USER = os.environ.get("BOUNCEBACK_IMAP_USER", "").strip()
BOUNCEBACK_IMAP_PASSWORD = os.environ.get("BOUNCEBACK_IMAP_PASSWORD", "")
BOUNCEBACK_IMAP_FOLDER = os.environ.get("BOUNCEBACK_IMAP_FOLDER", "").strip() or "INBOX"
BOUNCEBACK_IMAP_POLL_SECONDS = env_int("BOUNCEBACK_IMAP_POLL_SECONDS", 60)
BOUNCEBACK_IMAP_TLS_VERIFY = env_bool("BOUNCEBACK_IMAP_TLS_VERIFY", True)
BOUNCEBACK_IMAP_CA_FILE = os.environ.get("BOUNCEBACK_IMAP_CA_FILE", "").strip()
if BOUNCEBACK_IMAP_POLL_SECONDS < 1:
    raise ImproperlyConfigured("BOUNCEBACK_IMAP_POLL_SECONDS must be at least 1")
if not 0 < BOUNCEBACK_IMAP_PORT < 65536:
    raise ImproperlyConfigured("BOUNCEBACK_IMAP_PORT must be a port number (1-65535)")
if BOUNCEBACK_IMAP_HOST and not BOUNCEBACK_IMAP_USER:
    raise ImproperlyConfigured("BOUNCEBACK_IMAP_USER must be set when BOUNCEBACK_IMAP_HOST is")
# `bounceback smtpd`: the port it listens on by default and the recipient
# domains it accepts (comma list; empty accepts any, for a relay that already
# filtered). A recipient in another domain is refused with 550.
BOUNCEBACK_SMTPD_PORT = env_int("BOUNCEBACK_SMTPD_PORT", 2525)
BOUNCEBACK_SMTPD_DOMAINS = [
    domain.lower().lstrip("@") for domain in env_list("BOUNCEBACK_SMTPD_DOMAINS", "")
]

# portal: the public "tell us what went wrong" form, the customer portal, the survey.
# The name customers see at the top of the public pages and in their emails.
BOUNCEBACK_PORTAL_NAME = os.environ.get("BOUNCEBACK_PORTAL_NAME", "Customer care").strip()
# Public form submissions (and portal link requests) accepted per hour, per
# client address and per email address; more get HTTP 429.
BOUNCEBACK_FORM_LIMIT_PER_IP = env_int("BOUNCEBACK_FORM_LIMIT_PER_IP", 5)
BOUNCEBACK_FORM_LIMIT_PER_EMAIL = env_int("BOUNCEBACK_FORM_LIMIT_PER_EMAIL", 3)
# How long a magic link into the portal works (it works once).
BOUNCEBACK_PORTAL_LINK_MINUTES = env_int("BOUNCEBACK_PORTAL_LINK_MINUTES", 60)
# How long a follow-up survey link can be answered (once).
BOUNCEBACK_SURVEY_DAYS = env_int("BOUNCEBACK_SURVEY_DAYS", 30)
# The client address comes from X-Forwarded-For only behind our own proxy, and
# only when the request comes from BOUNCEBACK_TRUSTED_PROXIES (web/proxies.py);
# otherwise anyone could pick their own address with a header.
BOUNCEBACK_TRUST_X_FORWARDED_FOR = env_bool("BEHIND_TLS_PROXY", False)
for _name in (
    "BOUNCEBACK_FORM_LIMIT_PER_IP",
    "BOUNCEBACK_FORM_LIMIT_PER_EMAIL",
    "BOUNCEBACK_PORTAL_LINK_MINUTES",
    "BOUNCEBACK_SURVEY_DAYS",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")

# webhooks: inbound channels (chat, social, SMS providers) and outbound webhooks.
# A delivery is tried up to WEBHOOK_MAX_ATTEMPTS times (30 s backoff doubling,
# capped at an hour) before it fails; a subscription whose receiver failed
# WEBHOOK_DISABLE_AFTER attempts in a row is switched off and managers told.
# An inbound body over WEBHOOK_INBOUND_MAX_BYTES is refused (413); signatures
# older or newer than WEBHOOK_SIGNATURE_TOLERANCE seconds are refused (replay).
BOUNCEBACK_WEBHOOK_MAX_ATTEMPTS = env_int("BOUNCEBACK_WEBHOOK_MAX_ATTEMPTS", 8)
BOUNCEBACK_WEBHOOK_DISABLE_AFTER = env_int("BOUNCEBACK_WEBHOOK_DISABLE_AFTER", 15)
BOUNCEBACK_WEBHOOK_TIMEOUT = env_int("BOUNCEBACK_WEBHOOK_TIMEOUT", 10)
BOUNCEBACK_WEBHOOK_INBOUND_MAX_BYTES = env_int("BOUNCEBACK_WEBHOOK_INBOUND_MAX_BYTES", 256 * 1024)
BOUNCEBACK_WEBHOOK_SIGNATURE_TOLERANCE = env_int("BOUNCEBACK_WEBHOOK_SIGNATURE_TOLERANCE", 300)
if BOUNCEBACK_WEBHOOK_MAX_ATTEMPTS < 1 or BOUNCEBACK_WEBHOOK_DISABLE_AFTER < 1:
    raise ImproperlyConfigured(
        "BOUNCEBACK_WEBHOOK_MAX_ATTEMPTS and BOUNCEBACK_WEBHOOK_DISABLE_AFTER must be at least 1"
    )

# --- Empowerment (issue 7) ---------------------------------------------------------
# funds: an approval request waits this long on each level before it moves up one
# (lead, manager, executive); vouchers last this many days unless the grant says;
# a closed case still takes grants for this many days (a late gesture of goodwill).
BOUNCEBACK_APPROVAL_MINUTES = env_int("BOUNCEBACK_APPROVAL_MINUTES", 60)
BOUNCEBACK_VOUCHER_DAYS = env_int("BOUNCEBACK_VOUCHER_DAYS", 365)
BOUNCEBACK_GRANT_AFTER_CLOSE_DAYS = env_int("BOUNCEBACK_GRANT_AFTER_CLOSE_DAYS", 30)
if BOUNCEBACK_APPROVAL_MINUTES < 1 or BOUNCEBACK_VOUCHER_DAYS < 1:
    raise ImproperlyConfigured(
        "BOUNCEBACK_APPROVAL_MINUTES and BOUNCEBACK_VOUCHER_DAYS must be at least 1"
    )

# Segments: how often the clock queues a full membership recompute (data
# changes recompute the customers they touch straight away).
BOUNCEBACK_SEGMENTS_RECOMPUTE_MINUTES = env_int("BOUNCEBACK_SEGMENTS_RECOMPUTE_MINUTES", 60)
if BOUNCEBACK_SEGMENTS_RECOMPUTE_MINUTES < 1:
    raise ImproperlyConfigured("BOUNCEBACK_SEGMENTS_RECOMPUTE_MINUTES must be at least 1")


# --- Outbound requests and proxies (issue 13) ---------------------------------------
def env_networks(name: str, default: str) -> list[str]:
    """Comma-separated CIDRs ("10.0.0.0/8,::1"), checked here so a typo stops start-up."""
    import ipaddress

    networks = env_list(name, default)
    for item in networks:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated networks such as 10.0.0.0/8, not {item!r}"
            ) from None
    return networks


# Webhooks and channels never POST to loopback, private, link-local or metadata
# addresses (webhooks/egress.py) unless their network is listed here.
BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS = env_networks("BOUNCEBACK_OUTBOUND_ALLOWED_NETWORKS", "")
# With BEHIND_TLS_PROXY, X-Forwarded-For is believed only from these addresses.
BOUNCEBACK_TRUSTED_PROXIES = env_networks("BOUNCEBACK_TRUSTED_PROXIES", "127.0.0.1/32,::1/128")

# --- The daily desk: working together (issue 14) ---------------------------------------
# A colleague who opened a case within this many minutes is shown as working on it.
CASE_PRESENCE_MINUTES = env_int("CASE_PRESENCE_MINUTES", 10)
if CASE_PRESENCE_MINUTES < 1:
    raise ImproperlyConfigured("CASE_PRESENCE_MINUTES must be at least 1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

AUTHENTICATION_BACKENDS = ["bounceback.accounts.backends.ThrottledModelBackend"]

# --- Learning (themes, similar cases, problem records) ---
# How often the worker's clock recomputes the themes from every case's text.
BOUNCEBACK_THEMES_EVERY_HOURS = env_int("BOUNCEBACK_THEMES_EVERY_HOURS", 24)
