"""Fixtures of every scope that log each setup and teardown to the file
named by SCOPE_LOG, for test_fixture_scopes.py."""

import os

import pytest


def log(event):
    with open(os.environ["SCOPE_LOG"], "a") as f:
        f.write(event + "\n")


@pytest.fixture(scope="session", autouse=True)
def session_resource():
    log("setup session")
    yield
    log("teardown session")


@pytest.fixture(scope="module", autouse=True)
def module_resource(request):
    log(f"setup module {request.module.__name__}")
    yield
    log(f"teardown module {request.module.__name__}")


@pytest.fixture(scope="class")
def class_resource(request):
    log(f"setup class {request.cls.__name__}")
    yield
    log(f"teardown class {request.cls.__name__}")


@pytest.fixture
def function_resource():
    log("setup function")
    yield []
    log("teardown function")
