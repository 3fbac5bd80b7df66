"""What the API says about a workspace itself, beyond its settings: console sign-in links."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LoginLink(BaseModel):
    """A one-time link that signs its opener in to the console (`POST /api/workspace/login-links`)."""

    url: str = Field(description="Open it in a browser to sign in to the console. It works once.")
    expires_at: datetime = Field(description="It no longer works after this.")
