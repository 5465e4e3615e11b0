"""Figures from a trained model or the floor: scoring the test part (`evaluate`, `scoring`), the
log-mel floor (`baseline`), intervals and paired differences (`stats`), and the summary over
seeds (`replicates`)."""
