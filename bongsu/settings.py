"""The one way Bongsu's parts read their environment: a pydantic-settings class per part, on one base.

Each field names its variable through bongsu.conventions (the table in docs/configuration.md is
generated from there), empty values count as unset, and a bad value fails at start-up naming the
variable. Secrets are kept out of repr.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bongsu import conventions


class BongsuSettings(BaseSettings):
    """Base for every part's settings: exact variable names, empty = unset, unknown variables ignored."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True,
                                      populate_by_name=True)


class SpineSettings(BongsuSettings):
    """What `bongsu build` reads from the environment."""

    notifier_url: str = Field("http://127.0.0.1:9099/alertmanager", validation_alias=conventions.NOTIFIER_URL)
    webhook_token: str | None = Field(None, validation_alias=conventions.WEBHOOK_TOKEN, repr=False)
