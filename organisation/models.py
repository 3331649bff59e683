"""Who may use which assistant, what every reply used and cost, and the token budgets.

Kept apart from chat's tables: a usage row outlives the conversation (deleting a chat must
neither erase what it cost nor give the budget back), and chat needs nothing of this app
beyond the few calls it makes at a turn's start and end.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q

from chat.models import Assistant, Message


class AssistantAccess(models.Model):
    """Who may use one assistant. No row at all means everyone, as before this app."""

    assistant = models.OneToOneField(Assistant, on_delete=models.CASCADE, related_name="access")
    everyone = models.BooleanField(
        default=True, help_text="Offered to every signed-in user; else only to the groups below."
    )
    groups = models.ManyToManyField(
        Group, blank=True, related_name="assistant_accesses", help_text="Members may use it."
    )

    class Meta:
        verbose_name = "assistant access"
        verbose_name_plural = "assistant access"

    def __str__(self):
        return f"Access to {self.assistant}"


class Quota(models.Model):
    """A token budget per user per day and per month, at one level: the default, a group or
    a user. A blank field is not set at this level (the next level decides); 0 is no limit.
    How the levels combine: organisation.quotas.limits_for."""

    class Scope(models.TextChoices):
        DEFAULT = "default", "Default (everyone)"
        GROUP = "group", "Group"
        USER = "user", "User"

    scope = models.CharField(max_length=8, choices=Scope)
    group = models.OneToOneField(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="quota"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quota",
    )
    daily_tokens = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Tokens (input + output) per day. Blank: not set here; 0: no limit.",
    )
    monthly_tokens = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Tokens per calendar month. Blank: not set here; 0: no limit.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="default", group__isnull=True, user__isnull=True)
                | Q(scope="group", group__isnull=False, user__isnull=True)
                | Q(scope="user", group__isnull=True, user__isnull=False),
                name="quota_names_its_scope",
            ),
            models.UniqueConstraint(
                fields=["scope"], condition=Q(scope="default"), name="one_default_quota"
            ),
        ]

    def __str__(self):
        if self.scope == self.Scope.GROUP:
            return f"Quota of group {self.group}"
        if self.scope == self.Scope.USER:
            return f"Quota of {self.user}"
        return "Default quota"


class ModelPrice(models.Model):
    """What a model costs, per million tokens, for the usage page's costs."""

    model = models.CharField(
        max_length=256, unique=True, help_text="As the provider names it (the replies' model)."
    )
    input_per_million = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        ordering = ["model"]

    def __str__(self):
        return self.model


class UsageRecord(models.Model):
    """One reply's tokens. Created when the turn is admitted, holding a reservation (so that
    a turn starting at the same moment in another process counts it), and completed with
    what the provider reported (or an estimate from the text) when the reply ends."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="usage_records"
    )
    assistant = models.ForeignKey(
        Assistant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Names, not keys only: the record outlives a renamed or deleted assistant and connection.
    assistant_name = models.CharField(max_length=256)
    connection = models.CharField(max_length=64)
    model = models.CharField(max_length=256, blank=True)
    reply = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage_record"
    )
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    # What counts against the budget: the reservation while the reply runs, then
    # input + output.
    total_tokens = models.PositiveBigIntegerField(default=0)
    # The provider reported no usage (or the reply has not ended): counted from the text.
    estimated = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "usage"
        verbose_name_plural = "usage"
        indexes = [models.Index(fields=["user", "created_at"], name="usage_user_time_idx")]

    def __str__(self):
        return f"{self.total_tokens} tokens by {self.user} on {self.created_at:%Y-%m-%d}"

    @property
    def in_flight(self) -> bool:
        return self.finished_at is None
