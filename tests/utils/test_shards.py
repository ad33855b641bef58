"""--shard i/N: the one parser and the one split of every tool with shards."""

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoconv_mm.utils.shards import parse_shard, take_shard


@pytest.mark.parametrize(
    'text,expected', [('1/1', (1, 1)), ('3/8', (3, 8)), ('8/8', (8, 8))]
)
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize(
    'text', ['0/4', '5/4', '2', 'a/b', '1/0', '-1/3', '', '1/2/3']
)
def test_parse_shard_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match='i/N'):
        parse_shard(text)


def test_an_argparse_option_reports_the_message(capsys):
    parser = argparse.ArgumentParser(prog='tool')
    parser.add_argument('--shard', type=parse_shard)
    with pytest.raises(SystemExit):
        parser.parse_args(['--shard', '0/8'])
    err = capsys.readouterr().err
    assert (
        'argument --shard: i/N needs 1 <= i <= N (shards count from 1), '
        'got 0/8'
    ) in err


def test_take_shard_by_hand():
    items = list('abcdefg')
    assert take_shard(items, 1, 3) == ['a', 'd', 'g']
    assert take_shard(items, 3, 3) == ['c', 'f']
    assert take_shard(items, 1, 1) == items
    for bad in ((0, 3), (4, 3), (1, 0)):
        with pytest.raises(ValueError, match='1 <= i <= N'):
            take_shard(items, *bad)


@given(st.integers(0, 40), st.integers(1, 9))
def test_the_shards_partition_the_items(size, count):
    items = list(range(size))
    shards = [take_shard(items, i, count) for i in range(1, count + 1)]
    assert sorted(x for s in shards for x in s) == items
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
