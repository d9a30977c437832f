"""The alert channels: one module each in this package, found by name. Adding one is a module
with a `Channel` subclass that names itself (its format, its transport, what its receiver's
answers mean) plus its settings; the deliverer and the subscriptions API take every channel
found here, and nothing else changes."""

from __future__ import annotations

import importlib
import pkgutil

import aiohttp

from services.delivery.channels.base import Channel, InvalidDestination, Outcome, Outgoing, Result
from shared.http.outbound import OutboundPolicy
from shared.settings import Settings

SUPPORT = {"base", "http", "explain"}  # what channels share, not channels


def _found() -> dict[str, type[Channel]]:
    found: dict[str, type[Channel]] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in SUPPORT):
        loaded = importlib.import_module(f"{__name__}.{module}")
        for value in vars(loaded).values():
            mine = isinstance(value, type) and value.__module__ == loaded.__name__
            if mine and issubclass(value, Channel) and "name" in vars(value):
                found[value.name] = value
    return found


CHANNELS: dict[str, type[Channel]] = _found()


def make_channels(settings: Settings, session: aiohttp.ClientSession | None = None) -> dict[str, Channel]:
    policy = OutboundPolicy(settings.outbound_allow, settings.delivery_timeout_seconds)
    return {name: kind(settings, policy, session) for name, kind in CHANNELS.items()}


__all__ = ["CHANNELS", "Channel", "InvalidDestination", "Outcome", "Outgoing", "Result", "make_channels"]
