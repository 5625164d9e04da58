"""Extensions: the accounting of attempts, the garbage collector's tuning."""
