"""The one domain exception: a message for the user and the exit code it maps to."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UPLOAD = 3  # an upload failed and --strict-upload was given


class JunitFlakyError(Exception):
    """Bad input, bad configuration or an environment we cannot work in.

    The CLI's error boundary prints ``str(error)`` as one line and exits with ``exit_code``;
    no traceback reaches the user.
    """

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
