"""The `newsflow` command: set-up, bulk import and monitoring that are not services of their own."""
