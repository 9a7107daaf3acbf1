"""Database constraints every app writes the same way."""

from __future__ import annotations

from django.db import models


def choices_constraint(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    """Back a choices field with a CheckConstraint, so no writer can store another value."""
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": choices.values}), name=name)
