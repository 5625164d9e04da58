"""Project commands (COMMANDS_MODULE): ``crawl`` with a run lock, a log file and real exit codes."""
