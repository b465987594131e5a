"""The product's demo job (``beras-grader demo``)."""
