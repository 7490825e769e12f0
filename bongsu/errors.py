"""The one root of every error a person using Bongsu can cause or fix (like Click's ClickException).

A `BongsuError` carries an exit code and a message that says what is wrong and where: the file and
the place in it, the variable, the URL. The CLI turns exactly these into one red line and that exit
code; any other exception is a bug in Bongsu and keeps its traceback. Like bongsu.conventions this
module imports nothing, so the SDK can derive its ConfigError from it.
"""

from __future__ import annotations

# Exit codes, one meaning each across every command.
EXIT_FAILED = 1  # the command ran and found a problem (checks failed, a drill or demo step failed)
EXIT_USAGE = 2  # the input is wrong: catalog, flags, files, environment
EXIT_PREREQUISITE = 3  # something it needs is missing or would not start: a binary, a port, a server


class BongsuError(Exception):
    """A user-facing error: `where` locates it (a file and path in it, a variable, a URL), when known."""

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, where: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class PrerequisiteMissing(BongsuError):
    """A server, tool, extra or file Bongsu needs is not there; the message carries the fix."""

    exit_code = EXIT_PREREQUISITE
