"""The project's downloader middlewares (accounting and retries live in their own modules)."""
