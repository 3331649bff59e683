from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from sso import views as sign_in_views
from sso.backends import sso_configured

# The admin's own login form has no "Sign in with" button (and may have no password): with
# single sign-on, or without passwords, /admin/login/ sends to the site's login page.
admin_sign_in = (
    [path("admin/login/", sign_in_views.admin_sign_in)]
    if sso_configured() or not settings.PASSWORD_LOGIN_ENABLED
    else []
)

urlpatterns = [
    *admin_sign_in,
    path("admin/", admin.site.urls),
    path("accounts/login/", sign_in_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", sign_in_views.SignOutView.as_view(), name="logout"),
    path("accounts/oidc/", include("sso.urls")),
    path("", include("organisation.urls")),
    path("", include("chat.urls")),
    path("", include("sharing.urls")),
    path("", include("feedback.urls")),
]

if settings.LOCAL_PROVIDER_ENABLED:
    urlpatterns.append(path("local/", include("localai.urls")))
