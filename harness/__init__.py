"""voicewire's harness: the CLI, implementation-under-test adapters, runner and reports."""
