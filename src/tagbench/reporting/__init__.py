"""What a reader sees: the experiment's report and overview (`report`, `verdict`) and the
leaderboard across experiments and published rows (`leaderboard`)."""
