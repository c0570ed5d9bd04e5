import pytest


@pytest.mark.usefixtures("class_resource")
class TestMore:
    @pytest.mark.parametrize("n", range(4))
    def test_n(self, n, function_resource):
        assert n < 4


def test_last(function_resource):
    assert not function_resource
