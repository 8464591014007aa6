from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from mlserver.models import FeatureModel


@admin.register(FeatureModel)
class FeatureModelAdmin(admin.ModelAdmin):
    list_display = ["version", "kind", "dim", "status", "is_active", "created", "activated"]
    list_filter = ["kind", "status", "is_active"]
    readonly_fields = [f.name for f in FeatureModel._meta.fields if f.name not in ("metrics",)] + ["metrics_table"]
    exclude = ["metrics"]
    actions = ["fine_tune", "activate"]

    @admin.display(description=_("Held-out metrics per head"))
    def metrics_table(self, obj: FeatureModel) -> str:
        return format_html("<pre style='margin:0'>{}</pre>", json.dumps(obj.metrics, indent=1)) if obj.metrics else "—"

    @admin.action(description=_("Fine-tune a new model on the curator labels (background job)"))
    def fine_tune(self, request: HttpRequest, queryset: QuerySet) -> None:
        from mlserver.tasks import enqueue_training

        job = enqueue_training({})
        self.message_user(request, _("Training queued as job %(pk)s; follow it under Jobs.") % {"pk": job.pk}, messages.SUCCESS)

    @admin.action(description=_("Make the selected model active"))
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one model."), messages.ERROR)
            return
        model = queryset.get()
        if model.missing_artworks().exists():
            self.message_user(request, _("This model has not embedded every work yet."), messages.ERROR)
            return
        model.activate()
        self.message_user(request, _("%(v)s is now active.") % {"v": model.version}, messages.SUCCESS)
