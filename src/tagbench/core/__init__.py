"""What every stage shares and nothing else: one-line user errors (`errors`), atomic writes
(`atomic`), file digests (`digests`), checksummed HDF5 (`hdf5`), path names (`layout`), library
versions (`versions`), TensorFlow start-up (`runtime`, `stderr_filter`), named tag sets
(`tag_lists`) and the clip-level figures (`metrics`). Imports nothing else of tagbench."""
