"""Demo data: an organization with a user for each role and what each module seeds.

Idempotent: running it again changes nothing that is already there. Each app adds its
part in a ``seed.py`` module with ``seed(stdout)`` and an ``ORDER`` number.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


def seed_modules() -> list[Any]:
    modules = []
    for config in apps.get_app_configs():
        try:
            modules.append(import_module(f"{config.name}.seed"))
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.seed":
                raise
    return sorted(modules, key=lambda module: getattr(module, "ORDER", 100))


class Command(BaseCommand):
    help = "Create or complete the demo organization (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            for module in seed_modules():
                module.seed(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
