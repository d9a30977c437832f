"""The settings an app was created with, as a route dependency (both APIs keep them on
`app.state.settings`, so tests can build an app with their own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.settings import Settings


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]
