"""Page understanding for the site: pure functions from page bytes/text and URL to values."""
