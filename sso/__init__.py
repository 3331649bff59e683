"""Signing in: OpenID Connect single sign-on (mozilla-django-oidc) beside the password form.

Nothing here runs unless OIDC_ISSUER and OIDC_CLIENT_ID are set; the password form can be
switched off with PASSWORD_LOGIN_ENABLED=false (README: Single sign-on).
"""
