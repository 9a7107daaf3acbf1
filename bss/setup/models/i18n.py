"""Language packs: which languages are on, and UI strings overridden in the browser."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LanguageSetting(models.Model):
    """Whether a shipped language is offered; a language without a row is enabled.

    The default language is ``Organization.default_language``: one column, so there is
    exactly one default by construction.
    """

    language = models.CharField(_("language"), max_length=10, unique=True)
    is_enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["language"]
        verbose_name = _("language")
        verbose_name_plural = _("languages")

    def __str__(self) -> str:
        return self.language


class TranslationOverride(models.Model):
    language = models.CharField(_("language"), max_length=10)
    source = models.TextField(_("source text"))
    translation = models.TextField(_("translation"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "source"]
        verbose_name = _("translation override")
        verbose_name_plural = _("translation overrides")
        constraints = [
            models.UniqueConstraint(
                fields=["language", "source"], name="setup_translationoverride_unique"
            )
        ]

    def __str__(self) -> str:
        return f"[{self.language}] {self.source[:40]}"
