"""The user's own usage page: tokens spent today and this month, and what is left."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .quotas import budgets_for
from .reports import recent_replies


@require_GET
def my_usage(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "organisation/usage.html",
        {
            "budgets": budgets_for(user=request.user),
            "recent": recent_replies(user=request.user),
        },
    )
