"""Multi-run studies: run records, paired intervals that hold with few
seeds, verdicts fixed by a pre-registration, and their reports."""
