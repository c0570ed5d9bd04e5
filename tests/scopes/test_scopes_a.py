import pytest

import wordstats


@pytest.mark.usefixtures("class_resource")
class TestWords:
    def test_count(self, function_resource):
        assert wordstats.count("a b c") == 3

    def test_leak(self, function_resource):
        # wordstats.split() leaks its list: the group is narrowed down.
        assert wordstats.split("x y") == ["x", "y"]

    def test_count_again(self, function_resource):
        assert wordstats.count("a") == 1


def test_plain(function_resource):
    assert function_resource == []
