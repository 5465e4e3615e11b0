"""What a run is asked to do and when its outputs are stale: the validated config as frozen
settings (`config`) and the code fingerprints the rules rerun on (`fingerprint`). Above
`backbones`, whose registry both read."""
