"""The one exception type whose message is meant for a person: the CLI prints it as one line."""


class DigitlibError(Exception):
    """A problem the user can fix (bad image, missing data or weights, unknown model); the message says how."""
