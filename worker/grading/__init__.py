"""Grading one submission: intake, the job folder, the sandbox run, and the checked results."""
