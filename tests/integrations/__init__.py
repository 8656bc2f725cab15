"""The integrations kit run for real: the GitHub Action's script and every example under examples/."""
