"""Workers: a supervisor process that talks to the store and child processes that run jobs."""
