"""User code for the tests of jaxexplain/explain/: functions that fail under jit as written."""
