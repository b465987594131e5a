"""The part of Beras Grader that runs your public tests (``grader.harness``); you don't need to change it."""
