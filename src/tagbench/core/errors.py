"""Errors a user can act on. The CLI prints them as one line and exits non-zero."""


class TagbenchError(Exception):
    """Base: the message names the file or key at fault and, where possible, the fix."""


class ConfigError(TagbenchError):
    """A config key is unknown, of the wrong type, or inconsistent."""


class DataError(TagbenchError):
    """An input file (annotations, split, shard, model) is missing or malformed."""


class DecodeError(TagbenchError):
    """An audio file could not be decoded (corrupt, empty, unsupported)."""
