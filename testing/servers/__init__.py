"""Real test servers on 127.0.0.1, one module per service, each a pytest plugin with
session fixtures. The root ``conftest.py`` loads every module here."""
