"""The mutant zoo: deliberately broken ports of the reference client.

Each module is one realistic bug a port author could make, loadable as
``voicewire run --iut python:tests.mutants.<module>:factory``; its docstring says what the
author got wrong and which SPEC IDs must catch it. :mod:`tests.mutants.port` holds what the
mutants share (a ported LLM whose construction steps can be swapped);
``test_mutant_zoo.py`` runs every mutant against its suites and checks it is caught.
"""
