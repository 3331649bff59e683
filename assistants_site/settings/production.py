"""Production settings: `DJANGO_SETTINGS_MODULE=assistants_site.settings.production`.

Secrets must come from the environment; `manage.py check --deploy` is clean with these.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from . import *  # noqa: F403
from .environment import env_bool, env_int

DEBUG = False
if "DJANGO_SECRET_KEY" not in os.environ:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY in production.")
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]

# The offline provider is a development and test stand-in; opt in explicitly.
LOCAL_PROVIDER_ENABLED = env_bool("LOCAL_PROVIDER_ENABLED", False)
# Its code interpreter runs users' code on this host, with limits but no real isolation.
LOCAL_PROVIDER_CODE_INTERPRETER = env_bool("LOCAL_PROVIDER_CODE_INTERPRETER", False)
# The benchmark's unauthenticated relay is never mounted in production.
BENCH_BASELINE_ENABLED = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Asking browsers to preload HSTS binds the whole domain for months and is hard to undo:
    # a decision for whoever owns the domain (SECURE_HSTS_PRELOAD=true), not a default.
    # Everything else `check --deploy` asks for is on.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
