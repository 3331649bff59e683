"""Object ids that clients send (frame fields, URL segments, cursors).

An id outside the range of the database's id columns (BigAutoField: 1 to 2**63 - 1) names
nothing: callers answer it as they answer an unknown id, without asking the database, which
could not even take it (SQLite raises OverflowError for a parameter of 2**63 or more;
PostgreSQL answers "bigint out of range").
"""

ID_MAX = 2**63 - 1


def id_in_range(value: int) -> bool:
    """Whether an integer could be the id of a saved object."""
    return 0 < value <= ID_MAX


class IdConverter:
    """The `<id:...>` path converter: `<int:...>` limited to ids in range, so that a URL with a
    larger number is a 404 like any other unknown object."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not id_in_range(number):
            raise ValueError(f"{value} is not an id")  # Django: the pattern does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)
