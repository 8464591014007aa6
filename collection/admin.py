"""The curators' admin: browse with thumbnails, fix metadata, upload images, watch processing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from collection import images, importers, services
from collection.models import (
    MAX_MOTIFS,
    MAX_STYLES,
    Artist,
    Artwork,
    ArtworkArtist,
    ImageFile,
    ImportRun,
    Label,
    PartnerToken,
    ProcessingEvent,
    ProcessingStatus,
)
from collection.sites import CuratorAdminSite  # noqa: F401 - the site class lives there, see its docstring

# State changes shown on a work's page; older ones stay in the table (ProcessingEvent) for the record.
HISTORY_SHOWN = 40

# A later stage's read-only part of a work's change page: its HTML (escaped through format_html), or None to
# leave the page without it (a work with no image, not on any map).
ArtworkSection = Callable[[Artwork], "str | None"]
_artwork_sections: list[tuple[str | Promise, ArtworkSection]] = []


def add_artwork_section(title: str | Promise, render: ArtworkSection) -> None:
    """Later stages (maps, features) show what they know of a work on its page without collection importing them.

    A hook rather than another subclass of :class:`ArtworkAdmin`: analysis already registers its subclass in
    collection's place, and a second stage doing the same would silently replace the first one's.
    """
    if all(existing is not render for _title, existing in _artwork_sections):
        _artwork_sections.append((title, render))


def artwork_sections(work: Artwork) -> list[tuple[str | Promise, str]]:
    return [(title, html) for title, render in _artwork_sections if (html := render(work))]


class DecadeFilter(admin.SimpleListFilter):
    title = _("decade")
    parameter_name = "decade"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        decades = Artwork.objects.exclude(decade=None).values_list("decade", flat=True).distinct().order_by("decade")
        return [(str(d), f"{d}s") for d in decades]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(decade=int(value))
        except ValueError:
            raise IncorrectLookupParameters(f"decade {self.value()!r} is not a year") from None


class CreditInline(admin.TabularInline):
    model = ArtworkArtist
    extra = 0
    autocomplete_fields = ["artist"]


class ArtworkAdminForm(forms.ModelForm):
    upload = forms.FileField(
        required=False,
        label=_("Upload image"),
        help_text=_("Replaces the work's image; processing starts after saving."),
    )

    # The version the curator's form was opened at; a save from an older one is refused (see clean()).
    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    class Meta:
        model = Artwork
        fields = "__all__"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "seen_version" in self.fields:
            self.fields["seen_version"].initial = self.instance.version

    def clean_labels(self) -> Any:
        labels = self.cleaned_data.get("labels")
        if labels is None:
            return labels
        for kind, cap, name in (
            (Label.Kind.STYLE, MAX_STYLES, _("styles")),
            (Label.Kind.MOTIF, MAX_MOTIFS, _("motifs")),
        ):
            count = sum(1 for label in labels if label.kind == kind)
            if count > cap:
                raise forms.ValidationError(
                    _("%(count)d %(name)s chosen, above the limit of %(cap)d.")
                    % {"count": count, "name": name, "cap": cap}
                )
        return labels

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None:
            return cleaned
        # The admin saves inside one transaction with this validation, so the row stays locked
        # until the save: nobody can slip a change in between the check and the write.
        stored = (
            Artwork.objects.select_for_update().filter(pk=self.instance.pk).values_list("version", flat=True).first()
        )
        seen = cleaned.get("seen_version")
        if seen is None:
            raise forms.ValidationError(
                _(
                    "This form did not say which version of the work it was opened at, so saving it could undo "
                    "someone else's change. Nothing was saved: open the work again and make your change there."
                ),
                code="stale",
            )
        if stored is not None and seen != stored:
            raise forms.ValidationError(
                _(
                    "Someone else changed this work while you were editing it (you opened version %(seen)d; it is "
                    "now at version %(stored)d). Nothing was saved: open the work again in a new tab to see their "
                    "changes, then make yours there."
                )
                % {"seen": seen, "stored": stored},
                code="stale",
            )
        return cleaned

    def clean_upload(self) -> bytes | None:
        upload = self.cleaned_data.get("upload")
        if not upload:
            return None
        data = upload.read()
        try:
            images.decode(data, name=upload.name)
        except images.ImageRejected as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(Artwork)
class ArtworkAdmin(admin.ModelAdmin):
    form = ArtworkAdminForm
    list_display = [
        "thumbnail",
        "accession_number",
        "title",
        "artist_display",
        "date_display",
        "decade",
        "classification",
        "published",
        "processing_badge",
    ]
    list_display_links = ["thumbnail", "accession_number", "title"]
    list_filter = [DecadeFilter, "classification", "published", "processing_status", "labels"]
    search_fields = ["accession_number", "title", "artist_display", "medium", "credits__artist__name"]
    list_per_page = 50
    readonly_fields = [
        "preview",
        "year_start",
        "year_end",
        "decade",
        "processing_status",
        "processing_stage",
        "processing_error",
        "processing_updated",
        "processing_history",
        "image",
        "created",
        "updated",
    ]
    filter_horizontal = ["labels"]
    inlines = [CreditInline]
    actions = ["publish", "unpublish", "rerun_processing"]
    fieldsets = [
        (None, {"fields": ["preview", "upload", "accession_number", "title", "published", "seen_version"]}),
        (_("Maker and date"), {"fields": ["artist_display", "date_display", "year_start", "year_end", "decade"]}),
        (
            _("Object"),
            {
                "fields": [
                    "classification",
                    "medium",
                    "dimensions",
                    "credit_line",
                    "rights",
                    "source_url",
                    "iiif_manifest_url",
                ]
            },
        ),
        (_("Curator labels"), {"fields": ["labels"]}),
        (
            _("Processing"),
            {
                "fields": [
                    "image",
                    "processing_status",
                    "processing_stage",
                    "processing_error",
                    "processing_updated",
                    "processing_history",
                ]
            },
        ),
        (_("Record"), {"fields": ["created", "updated"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("image")

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Adds the later stages' sections (see :func:`add_artwork_section`) below the work's own fields."""
        work = self.get_object(request, object_id)
        sections = artwork_sections(work) if work is not None else []
        return super().change_view(request, object_id, form_url, {"stage_sections": sections, **(extra_context or {})})

    @admin.display(description=_("Image"))
    def thumbnail(self, obj: Artwork) -> str:
        url = obj.image.url("thumb", signed=not obj.published and not obj.image.shown_publicly()) if obj.image else None
        if not url:
            return "—"
        return format_html('<img src="{}" alt="" style="max-height:64px;max-width:96px" loading="lazy">', url)

    @admin.display(description=_("Preview"))
    def preview(self, obj: Artwork) -> str:
        url = (
            obj.image.url("medium", signed=not obj.published and not obj.image.shown_publicly())
            if obj and obj.image
            else None
        )
        if not url:
            return "—"
        return format_html('<img src="{}" alt="{}" style="max-height:320px">', url, obj.title)

    @admin.display(description=_("Processing history"))
    def processing_history(self, obj: Artwork) -> str:
        """The last state changes, newest first, each with the time since the one before (how long a stage ran)."""
        events = list(ProcessingEvent.objects.filter(artwork=obj)[:HISTORY_SHOWN]) if obj.pk else []
        if not events:
            return str(_("Not processed yet."))
        rows = []
        for event, earlier in zip(events, [*events[1:], None]):
            took = f"{(event.at - earlier.at).total_seconds():.1f} s" if earlier is not None else ""
            rows.append(
                (event.at.strftime("%Y-%m-%d %H:%M:%S"), took, event.stage, event.get_status_display(), event.error)
            )
        head = format_html_join(
            "", "<th>{}</th>", ((h,) for h in (_("Time"), _("After"), _("Stage"), _("Status"), _("Error")))
        )
        body = format_html_join(
            "", '<tr class="processing-event"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>', rows
        )
        return format_html(
            '<table class="processing-history"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body
        )

    @admin.display(description=_("Processing"), ordering="processing_status")
    def processing_badge(self, obj: Artwork) -> str:
        if obj.processing_status == ProcessingStatus.FAILED:
            return format_html(
                '<span style="color:#b00" title="{}">failed at {}</span>', obj.processing_error, obj.processing_stage
            )
        return obj.get_processing_status_display()

    def save_model(self, request: HttpRequest, obj: Artwork, form: ArtworkAdminForm, change: bool) -> None:
        from collection.dates import parse_date

        parsed = parse_date(obj.date_display)
        obj.year_start, obj.year_end, obj.decade = parsed.year_start, parsed.year_end, parsed.decade
        super().save_model(request, obj, form, change)
        data = form.cleaned_data.get("upload")
        if data:
            upload = form.files.get("upload")
            services.attach_image(obj, data, name=getattr(upload, "name", None) or "upload")
            self.message_user(request, _("Image stored; processing has been queued."), messages.SUCCESS)

    def save_related(self, request: HttpRequest, form: ArtworkAdminForm, formsets: Any, change: bool) -> None:
        """Reads a new or changed credit line into Artist rows, the way an import of it would.

        After the inlines are saved, so the credit rows a curator edits by hand in the same save win:
        the typed line is then their caption, and the rows say who it is.
        """
        super().save_related(request, form, formsets, change)
        credits_edited = any(formset.has_changed() for formset in formsets if formset.model is ArtworkArtist)
        if (not change or "artist_display" in form.changed_data) and not credits_edited:
            work = form.instance
            importers.replace_credits(work, importers.credits_from_text(" ".join(work.artist_display.split())))

    @admin.action(description=_("Publish selected works"))
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.set_published(queryset, True)
        self.message_user(request, _("%(n)d works published.") % {"n": count}, messages.SUCCESS)

    @admin.action(description=_("Unpublish selected works"))
    def unpublish(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.set_published(queryset, False)
        self.message_user(request, _("%(n)d works unpublished.") % {"n": count}, messages.SUCCESS)

    @admin.action(description=_("Re-run processing"))
    def rerun_processing(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.reprocess(list(queryset))
        self.message_user(request, _("Processing queued for %(n)d works.") % {"n": count}, messages.SUCCESS)


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ["name", "nationality", "birth_year", "death_year"]
    search_fields = ["name"]
    list_filter = ["nationality"]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(ImageFile)
class ImageFileAdmin(admin.ModelAdmin):
    list_display = ["sha256", "width", "height", "content_type", "byte_size", "created"]
    readonly_fields = [f.name for f in ImageFile._meta.fields]
    search_fields = ["sha256"]


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["source", "started", "finished", "created", "updated", "unchanged", "rejected"]
    readonly_fields = [f.name for f in ImportRun._meta.fields]


@admin.register(PartnerToken)
class PartnerTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scope", "rate", "active", "created", "last_used"]
    list_filter = ["scope", "active"]
    readonly_fields = ["prefix", "created", "last_used"]
    fields = ["name", "scope", "rate", "user", "active", "prefix", "created", "last_used"]

    def save_model(self, request: HttpRequest, obj: PartnerToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = PartnerToken.issue(obj.name, scope=obj.scope, rate=obj.rate, user=obj.user)
        obj.pk, obj.key_hash, obj.prefix = token.pk, token.key_hash, token.prefix
        request._partner_token_key = key  # type: ignore[attr-defined]  # read by response_add below

    def response_add(
        self, request: HttpRequest, obj: PartnerToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Shows the new key in this response's body only.

        The messages framework would carry it through the messages cookie, which is
        signed but readable by anyone who sees the cookie (a shared machine, a proxy
        log), and redirects would leave it in the browser's history; the page is
        never cached.
        """
        key = getattr(request, "_partner_token_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/collection/partnertoken/created.html",
            {**self.admin_site.each_context(request), "opts": self.opts, "token": obj, "key": key},
        )
        add_never_cache_headers(response)
        return response
