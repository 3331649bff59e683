from django.conf import settings
from django.db import models


class Identity(models.Model):
    """Which site user a provider's subject is. The link is (issuer, sub), which the provider
    never reuses, rather than the e-mail or username, which can change or be claimed by
    someone else."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"
