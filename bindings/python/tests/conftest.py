"""The package's own tests use the grouped keywords: a deprecated flat keyword fails a
test, except where test_deprecated.py expects its warning (pytest.warns)."""


def pytest_configure(config):
    config.addinivalue_line(
        "filterwarnings", r"error:(Container|exec)\(\w+=\.\.\.\) is deprecated:DeprecationWarning")
