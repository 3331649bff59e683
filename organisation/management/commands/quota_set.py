"""`manage.py quota_set (--default | --group G | --user U) [--daily N] [--monthly N]`."""

from django.core.management.base import BaseCommand, CommandError

from organisation.models import Quota
from organisation.services.settings import QuotaTargetMissing, quota_set


def _shown(tokens: int | None) -> str:
    if tokens is None:
        return "not set (the next level decides)"
    return "no limit" if tokens == 0 else f"{tokens:,} tokens"


class Command(BaseCommand):
    help = (
        "Sets a token budget (input + output tokens) per day and per month: the default, a "
        "group's or a user's. 0 removes the limit; a budget not given stays as it is. A user's "
        "own quota beats their groups', the most generous group beats the default."
    )

    def add_arguments(self, parser):
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--default", action="store_true", help="Everyone's default.")
        who.add_argument("--group", metavar="G", help="A Django group's (by name).")
        who.add_argument("--user", metavar="U", help="A user's own (by username).")
        parser.add_argument("--daily", type=int, metavar="N", help="Tokens per day.")
        parser.add_argument("--monthly", type=int, metavar="N", help="Tokens per month.")

    def handle(self, *args, default, group, user, daily, monthly, **options):
        for name, value in (("--daily", daily), ("--monthly", monthly)):
            if value is not None and value < 0:
                raise CommandError(f"{name} must be 0 (no limit) or a positive number of tokens.")
        scope = Quota.Scope.GROUP if group else Quota.Scope.USER if user else Quota.Scope.DEFAULT
        try:
            quota = quota_set(
                scope=scope,
                group_name=group,
                username=user,
                daily_tokens=daily,
                monthly_tokens=monthly,
            )
        except QuotaTargetMissing as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{quota}: daily {_shown(quota.daily_tokens)}, monthly "
                f"{_shown(quota.monthly_tokens)}."
            )
        )
