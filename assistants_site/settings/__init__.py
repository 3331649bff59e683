"""Settings for development and for the embedded defaults.

Everything is read from the environment (see the README's settings table). With no
environment at all the site runs on SQLite, the in-memory channel layer and the built-in
local provider. `assistants_site.settings.production` tightens these for deployment.
"""

import json
import os
from pathlib import Path

import dj_database_url

from .environment import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-insecure-secret-key-change-me-in-production")
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

HOST = env_str("HOST", "127.0.0.1")
PORT = env_int("PORT", 8000)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chat",
    "localai",
    "organisation",
    "sso",
    "sharing",
    "feedback",
    "toolservers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Login everywhere but where a view opts out (login page, the local provider's API).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # CONTENT_SECURITY_POLICY below, plus the page's own WebSocket origin.
    "assistants_site.csp.SiteCSPMiddleware",
]

# Every HTML page: scripts, styles and everything else from this site only; no inline script,
# handler or style attribute anywhere (the templates and static/chat keep to it, and the
# browser tests fail on any violation). Images may be data: or blob: URLs (file previews
# before upload, plots). Downloads of user files set their own stricter policy
# (chat.file_views.DOWNLOAD_CSP), which the middleware leaves in place.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

ROOT_URLCONF = "assistants_site.urls"
ASGI_APPLICATION = "assistants_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Kept open: Channels closes a connection around every database_sync_to_async call
        # unless it may persist, and reopening SQLite (the file, the PRAGMAs, Django's SQL
        # functions) was 10% of a streaming process's CPU in `make bench`'s profile. A
        # connection belongs to its thread: consumers share one sync thread; an HTTP
        # request's thread ends with the request, and its connection with it.
        config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 600)
        config["CONN_HEALTH_CHECKS"] = True
        # WAL lets readers work while a reply is being saved; IMMEDIATE transactions and a
        # busy timeout turn writer contention into a short wait instead of "database is locked".
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif config["ENGINE"] == "django.db.backends.postgresql" and env_bool("DATABASE_POOL", True):
        # A connection pool per process (psycopg_pool). Without one, every
        # database_sync_to_async call closes its connection (CONN_MAX_AGE 0, as Django asks
        # under ASGI) and the next opens another, password exchange included: under load that
        # cost the single database thread of a Daphne process more than the queries did.
        config["CONN_MAX_AGE"] = 0
        # Health checks make Django give the pool `check=ConnectionPool.check_connection`: a
        # connection is tested before it is handed out. Without it, after PostgreSQL restarts
        # the pool held connections the server had closed, and each served an error (HTTP 500).
        config["CONN_HEALTH_CHECKS"] = True
        config["OPTIONS"] = {
            "pool": {"min_size": 1, "max_size": env_int("DATABASE_POOL_SIZE", 20), "timeout": 30}
        }
    return config


DATABASES = {
    "default": _database(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
    # The local provider keeps its own tables, as a remote service would; the chat app never
    # reads them. A separate database also lets tests run it in its own process.
    "localai": _database(
        env_str("LOCAL_PROVIDER_DATABASE_URL", f"sqlite:///{VAR_DIR / 'localai.sqlite3'}")
    ),
}
DATABASE_ROUTERS = ["localai.routers.LocalProviderRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
# A Redis that is down or unreachable answers within seconds, not after the kernel's timeouts.
REDIS_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 5}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: each process subscribes to its own sockets' channels and groups and
            # hands what arrives to in-process queues. The list-based RedisChannelLayer pops
            # every socket's messages through one shared blocking read, and a read cancelled
            # mid-pop (a socket closing, a reply ending) dropped a message meant for another
            # socket (channels_redis issue 366): streams lost deltas under load.
            # channels_redis's, made to ride out a Redis restart (chat/redis_layer.py).
            "BACKEND": "chat.redis_layer.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, **REDIS_TIMEOUTS}]},
        }
    }
else:
    # Capacity well above the default 100: a fast stream to a slow socket must not be dropped.
    # Channels' in-memory layer with its per-message sweep made periodic (chat/channel_layer.py).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.channel_layer.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1000},
        }
    }

if REDIS_URL:
    # Shared by every process: rate limits hold per user, not per process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": REDIS_TIMEOUTS,
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Signing in (sso/, README: Single sign-on) ----------------------------------------------
# The password form of /accounts/login/ (and the admin's). Off: the form is not shown, its
# POST is refused, and sessions made with a password end (their backend is gone).
PASSWORD_LOGIN_ENABLED = env_bool("PASSWORD_LOGIN_ENABLED", True)
# OpenID Connect single sign-on, on when OIDC_ISSUER and OIDC_CLIENT_ID are set. The issuer
# is compared exactly with the discovery document's and the tokens' `iss`.
OIDC_ISSUER = env_str("OIDC_ISSUER", "")
# Blank: OIDC_ISSUER + /.well-known/openid-configuration.
OIDC_DISCOVERY_URL = env_str("OIDC_DISCOVERY_URL", "")
OIDC_DISCOVERY_TTL = env_float("OIDC_DISCOVERY_TTL", 3600.0)
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
# The claim that lists the user's groups; its values become Django groups of those names,
# which is what the organisation app's access rules and group quotas name.
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# Members of any of these groups are staff (superusers); empty: left as set in the admin.
OIDC_STAFF_GROUPS = env_list("OIDC_STAFF_GROUPS", "")
OIDC_SUPERUSER_GROUPS = env_list("OIDC_SUPERUSER_GROUPS", "")
# The claim a new account's username comes from (then email, then sub).
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "preferred_username")
# False: only accounts staff created (without a password) can be signed in to.
OIDC_CREATE_USER = env_bool("OIDC_CREATE_USERS", True)
OIDC_TIMEOUT = env_float("OIDC_TIMEOUT", 10.0)
# mozilla-django-oidc's switches: PKCE (S256) beside state and nonce; the ID token kept in
# the session for the provider's sign-out (id_token_hint); client_secret_basic, the token
# endpoint authentication every provider must support.
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_TOKEN_USE_BASIC_AUTH = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"
OIDC_VERIFY_SSL = True
AUTHENTICATION_BACKENDS = [
    *(["django.contrib.auth.backends.ModelBackend"] if PASSWORD_LOGIN_ENABLED else []),
    "sso.backends.SignInBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
SERVE_STATIC = env_bool("SERVE_STATIC", True)
# The chat page loads its ES modules as one file (static/chat/dist/, `make bundle`) rather
# than one by one: a fresh browser fetched about forty of them six at a time, and at 10,000
# messages the conversation was readable about a tenth of a second later for it. None: on
# whenever DEBUG is off, decided per page, so that a developer's edits show without a build
# and the tests (DEBUG off) run what users get.
CHAT_JS_BUNDLE = env_bool("CHAT_JS_BUNDLE", None)

# Uploaded, knowledge and code-output files. Never served as static media: every download
# goes through an authorising view (chat.file_views), so MEDIA_URL is deliberately unused.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx2": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# --- Chat ---------------------------------------------------------------------------------
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 32_000)
# How often a streaming reply is written to the database (seconds): never once per delta.
CHAT_REPLY_SAVE_INTERVAL = env_float("CHAT_REPLY_SAVE_INTERVAL", 0.5)
# Deltas that arrive closer together than this are sent to the sockets as one frame. Below a
# model's usual gap between tokens (20-30 ms): at 0.02, deltas 20 ms apart fell into step
# with the timer and each waited for it, about half an interval every token (`make bench`:
# p50 added latency 12.7 ms at K=10, 3.6 ms at 0.01, the same CPU per token).
CHAT_BROADCAST_INTERVAL = env_float("CHAT_BROADCAST_INTERVAL", 0.01)
CHAT_SIDEBAR_PAGE_SIZE = env_int("CHAT_SIDEBAR_PAGE_SIZE", 50)
# The page and the socket's snapshot carry a conversation's latest messages, this many; the
# browser fetches older ones (GET .../messages?before=) as the reader scrolls up.
CHAT_TRANSCRIPT_PAGE_SIZE = env_int("CHAT_TRANSCRIPT_PAGE_SIZE", 50)
# Files users attach to messages: the largest accepted, the extensions accepted (lower case,
# without the dot) and how many one message may carry.
CHAT_UPLOAD_MAX_BYTES = env_int("CHAT_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
CHAT_UPLOAD_EXTENSIONS = env_list(
    "CHAT_UPLOAD_EXTENSIONS",
    "txt,md,markdown,pdf,csv,tsv,json,py,js,ts,html,css,xml,yaml,yml,log,png,jpg,jpeg,gif,webp",
)
CHAT_MAX_ATTACHMENTS = env_int("CHAT_MAX_ATTACHMENTS", 10)
# Attached but never sent: deleted by `manage.py retry_remote_cleanup` after this many hours.
CHAT_UNSENT_UPLOAD_HOURS = env_int("CHAT_UNSENT_UPLOAD_HOURS", 24)
# A streaming reply's task touches it this often (seconds); one silent for three beats belongs
# to a process that died, and is closed as incomplete so the conversation goes on.
CHAT_RUNNER_HEARTBEAT = env_float("CHAT_RUNNER_HEARTBEAT", 10.0)
# How long a deleted conversation can be brought back with Undo; after it, the purge deletes
# it for good, its remote thread and files with it (chat.services.conversation_purge).
CHAT_UNDO_SECONDS = env_float("CHAT_UNDO_SECONDS", 10.0)
# How long a reply's end (and other frames that must arrive) is retried while the channel
# layer (Redis) is unreachable, in seconds. Deltas are never lost meanwhile: the next frame
# that gets through starts where the last delivered one ended.
CHAT_FANOUT_RETRY_SECONDS = env_float("CHAT_FANOUT_RETRY_SECONDS", 120.0)
# How long a reply's saves are retried while the database is unreachable (PostgreSQL
# restarting), in seconds, before the reply is given up.
CHAT_DATABASE_RETRY_SECONDS = env_float("CHAT_DATABASE_RETRY_SECONDS", 30.0)
# On SIGTERM a process takes no new turns and lets the replies it is writing finish for this
# many seconds, then closes the rest as incomplete; its sockets close with 1012. A deploy must
# let it run about this long plus a few seconds (README: Deployment).
CHAT_DRAIN_GRACE = env_float("CHAT_DRAIN_GRACE", 20.0)
# Seconds a Stop waits for the reply's task to answer before it closes a reply whose process
# is gone itself.
CHAT_STOP_TIMEOUT = env_float("CHAT_STOP_TIMEOUT", 2.0)
# Bytes of frames a socket may leave unread (sent by the server, not yet taken by the client)
# before it is closed with 4408 (assistants_site/websocket_server.py): above the largest
# snapshot of a conversation that a slow client may still be reading.
CHAT_SOCKET_MAX_UNSENT_BYTES = env_int("CHAT_SOCKET_MAX_UNSENT_BYTES", 8 * 1024 * 1024)
# Frames a user may send per window (all their sockets together), then `rate_limited`.
CHAT_RATE_LIMIT_FRAMES = env_int("CHAT_RATE_LIMIT_FRAMES", 60)
CHAT_RATE_LIMIT_WINDOW = env_int("CHAT_RATE_LIMIT_WINDOW", 10)
# Seconds the provider may stay silent during a reply before the turn fails as timed out.
PROVIDER_TIMEOUT = env_float("PROVIDER_TIMEOUT", 60.0)
PROVIDER_MAX_RETRIES = env_int("PROVIDER_MAX_RETRIES", 2)
# Dotted path of a callable returning the async azure-identity credential used for Azure
# OpenAI without a key; empty: DefaultAzureCredential (tests point it at a fake identity).
AZURE_CREDENTIAL_FACTORY = env_str("AZURE_CREDENTIAL_FACTORY", "")
# Encrypts the API keys and header values typed into the admin's provider connections
# (chat/encryption.py). Comma-separated: the first encrypts, all decrypt, so a key can be
# rotated. Empty: a key derived from DJANGO_SECRET_KEY (changing that then needs the keys
# typed again).
FIELD_ENCRYPTION_KEY = env_list("FIELD_ENCRYPTION_KEY", "")

# --- The built-in local provider ----------------------------------------------------------
LOCAL_PROVIDER_ENABLED = env_bool("LOCAL_PROVIDER_ENABLED", True)
LOCAL_PROVIDER_API_KEY = env_str("LOCAL_PROVIDER_API_KEY", "local-dev-key")
LOCAL_PROVIDER_BASE_URL = env_str("LOCAL_PROVIDER_BASE_URL", f"http://127.0.0.1:{PORT}/local/v1")
# Delay between streamed tokens of the deterministic local model (seconds).
LOCAL_PROVIDER_TOKEN_DELAY = env_float("LOCAL_PROVIDER_TOKEN_DELAY", 0.03)
LOCAL_PROVIDER_MODEL = env_str("LOCAL_PROVIDER_MODEL", "local-echo-1")
# Answer the Assistants API with 410 Gone, as the real services do since 2026-08-26: on the
# Azure-style routes (/local/openai/...) by default, on the OpenAI-style ones only if asked
# (there the Assistants API is the embedded default's protocol).
LOCAL_PROVIDER_AZURE_ASSISTANTS_RETIRED = env_bool("LOCAL_PROVIDER_AZURE_ASSISTANTS_RETIRED", True)
LOCAL_PROVIDER_ASSISTANTS_RETIRED = env_bool("LOCAL_PROVIDER_ASSISTANTS_RETIRED", False)
# The code interpreter runs the Python of a user's fenced code block on this machine, in a
# child process with these limits (localai/sandbox.py). A local stand-in, not a secure
# multi-tenant sandbox: production settings switch it off unless enabled.
LOCAL_PROVIDER_CODE_INTERPRETER = env_bool("LOCAL_PROVIDER_CODE_INTERPRETER", True)
LOCAL_PROVIDER_SANDBOX_CPU_SECONDS = env_int("LOCAL_PROVIDER_SANDBOX_CPU_SECONDS", 10)
LOCAL_PROVIDER_SANDBOX_WALL_SECONDS = env_float("LOCAL_PROVIDER_SANDBOX_WALL_SECONDS", 20.0)
LOCAL_PROVIDER_SANDBOX_MEMORY_MB = env_int("LOCAL_PROVIDER_SANDBOX_MEMORY_MB", 1024)
LOCAL_PROVIDER_SANDBOX_OUTPUT_BYTES = env_int("LOCAL_PROVIDER_SANDBOX_OUTPUT_BYTES", 65536)
# Code runs at once per process; more wait for a free slot.
LOCAL_PROVIDER_SANDBOX_CONCURRENCY = env_int(
    "LOCAL_PROVIDER_SANDBOX_CONCURRENCY", max(1, os.cpu_count() or 1)
)
# The largest file the local provider's Files API accepts (bytes); the real API takes 512 MB.
LOCAL_PROVIDER_MAX_FILE_BYTES = env_int("LOCAL_PROVIDER_MAX_FILE_BYTES", 50 * 1024 * 1024)

# --- MCP servers (toolservers/) ----------------------------------------------------------
# stdio servers spawn a process on this machine, so they are declared here, never in the
# admin: {"name": {"command": "...", "args": [...], "env": {...}}}, as JSON in MCP_STDIO_SERVERS.
# `manage.py mcp_server_refresh NAME` then lists their tools like an HTTP server's.
MCP_STDIO_SERVERS = json.loads(env_str("MCP_STDIO_SERVERS", "{}"))
# How long a call that needs the user's approval waits before it is answered "timed out".
MCP_APPROVAL_TIMEOUT = env_float("MCP_APPROVAL_TIMEOUT", 300.0)
# The most characters of a tool's result the model reads (beyond: an error output).
MCP_MAX_RESULT_CHARS = env_int("MCP_MAX_RESULT_CHARS", 32_000)
# The largest image a tool may return that the transcript shows inline (bytes, decoded).
MCP_MAX_IMAGE_BYTES = env_int("MCP_MAX_IMAGE_BYTES", 512 * 1024)

# --- Benchmark ----------------------------------------------------------------------------
# Mounts the bare relay that `make bench` compares the chat consumer with (chat/bench_relay.py)
# at /ws/bench/relay/. Never on a real site: it streams from the provider without a login.
BENCH_BASELINE_ENABLED = env_bool("BENCH_BASELINE_ENABLED", False)

# --- Demo data created by `manage.py bootstrap_demo` (make run) ----------------------------
DEMO_USERNAME = env_str("DEMO_USERNAME", "demo")
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "demo-pass-123")
