"""Business rules. Services flush and never commit: the request edge (or a
CLI command) commits once."""


class FieldErrors(Exception):
    """Input that fails a rule needing the database or several fields.
    `errors` maps a form field name to its messages; views put them beside
    the field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(", ".join(errors))
        self.errors = errors


class NotFound(Exception):
    pass
