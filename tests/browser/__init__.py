# A package, so that browser/conftest.py is imported as `browser.conftest` and does not take
# the place of tests/conftest.py as the module named `conftest` while a test still imports it.
