"""One exception hierarchy for the whole package.

Every message is one line that tells the user what went wrong and, where possible, what to do next;
the CLI prints it without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations


class PunkmlError(Exception):
    """Base class of every error Punk ML raises on purpose."""

    exit_code = 1


class ConfigError(PunkmlError):
    """A setting, option or URI is invalid."""

    exit_code = 2


class DatasetError(PunkmlError):
    """The Punk API dataset could not be obtained, verified or read."""


class IntegrityError(DatasetError):
    """A downloaded or given file does not match its pinned checksum."""


class SchemaError(PunkmlError):
    """A record does not match the Punk API v2 beer schema; the message names the field path."""


class SourceError(PunkmlError):
    """A Punk API source could not be read; the message names the URL and the cause."""


class SourceConnectionError(SourceError):
    """The source could not be reached, or did not answer in time, within the retry budget."""


class SourceStatusError(SourceError):
    """The source answered with an HTTP error status."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class SourceResponseError(SourceError):
    """The source answered with a body that is not valid JSON or not a Punk API v2 beer."""


class StreamError(PunkmlError):
    """The durable stream could not be read or written."""


class LakeError(PunkmlError):
    """The lake or catalog could not be read or written."""


class DeliveryError(PunkmlError):
    """A delivery stopped on an unexpected failure (I/O error, full disk); nothing checkpointed
    was lost, the next delivery replays the unfinished batch."""


class ModelError(PunkmlError):
    """A model could not be trained, stored, verified or applied."""


class ServeError(PunkmlError):
    """The API server could not start: its address is busy, forbidden or not on this machine."""


class RecipeError(SchemaError):
    """A recipe file or body cannot be read at all (not JSON or BeerXML, too large, unsafe XML,
    no recipes); a single bad recipe in it is reported by field path instead."""


class TooManyRecipesError(RecipeError):
    """A file or body lists more recipes than may be read at once."""
