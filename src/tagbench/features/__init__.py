"""Audio to log-mel feature shards: decoding and resampling (`audio`), the shard writer and the
store later stages read (`shards`)."""
