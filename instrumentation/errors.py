"""The one exception the SDK raises: a configuration mistake, found at start-up, naming the setting."""

from bongsu.errors import BongsuError


class ConfigError(BongsuError, ValueError):
    """An init argument or environment variable has an invalid value; the message names it."""
