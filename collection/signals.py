"""Signals later pipeline stages listen to, so collection/ never imports them."""

from django.dispatch import Signal

# Sent after a bulk publish/unpublish (queryset.update sends no post_save).
publication_changed = Signal()
