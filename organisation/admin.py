"""Staff screens: who may use which assistant, quotas, model prices, and the usage report
(the usage changelist: charts per day, top users and assistants, CSV export)."""

import csv
from datetime import timedelta

from django import forms
from django.contrib import admin
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from .charts import money, stacked_by_day
from .models import AssistantAccess, ModelPrice, Quota, UsageRecord
from .reports import usage_csv_rows, usage_report

DEFAULT_DAYS = 30
MAX_DAYS = 366


@admin.register(AssistantAccess)
class AssistantAccessAdmin(admin.ModelAdmin):
    list_display = ["assistant", "everyone", "group_names"]
    list_filter = ["everyone", "groups"]
    filter_horizontal = ["groups"]

    @admin.display(description="groups")
    def group_names(self, access):
        return ", ".join(g.name for g in access.groups.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("assistant").prefetch_related("groups")


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scope", "daily_tokens", "monthly_tokens"]
    list_filter = ["scope"]
    fields = ["scope", "group", "user", "daily_tokens", "monthly_tokens"]


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["model", "input_per_million", "output_per_million"]
    list_editable = ["input_per_million", "output_per_million"]


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(choices=[("assistant", "assistant"), ("model", "model")], required=False)

    def period(self):
        """(start, end, by): the last DEFAULT_DAYS days unless chosen, at most MAX_DAYS."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            start, end = end, start
        start = max(start, end - timedelta(days=MAX_DAYS - 1))
        return start, end, data.get("by") or "assistant"


class _Echo:
    def write(self, value):
        return value


@admin.register(UsageRecord)
class UsageAdmin(admin.ModelAdmin):
    """The changelist is the usage report; the records themselves are in the CSV."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        csv_view = self.admin_site.admin_view(self.csv_view)
        return [
            path("export.csv", csv_view, name="organisation_usagerecord_csv"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        form = PeriodForm(request.GET or None)
        start, end, by = form.period()
        report = usage_report(start=start, end=end, by=by)
        tokens = stacked_by_day(
            report.days,
            {name: [t.tokens for t in tallies] for name, tallies in report.series.items()},
            unit="tokens",
        )
        costs = stacked_by_day(
            report.days,
            {name: [t.cost for t in tallies] for name, tallies in report.series.items()},
            unit="",
            fmt=money,
        )
        query = f"start={start:%Y-%m-%d}&end={end:%Y-%m-%d}"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Usage",
            "form": PeriodForm(initial={"start": start, "end": end, "by": by}),
            "report": report,
            "tokens_chart": tokens,
            "cost_chart": costs,
            "total_cost": money(report.total.cost),
            "csv_url": f"{reverse('admin:organisation_usagerecord_csv')}?{query}",
            "prices_url": reverse("admin:organisation_modelprice_changelist"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/organisation/usage_report.html", context)

    def csv_view(self, request):
        start, end, _ = PeriodForm(request.GET or None).period()
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in usage_csv_rows(start=start, end=end)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="usage-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
        )
        return response
