import pytest
import torch

from archopt.data import Batch, Loader
from archopt.data.dataset import Split
from archopt.errors import UserError


def split(n=103, lengths=False):
    x = torch.arange(n, dtype=torch.float32).view(n, 1).repeat(1, 3)
    y = torch.arange(n) % 4
    return Split(x, y, torch.arange(n) % 7 + 1 if lengths else None)


def ids(batches):
    return [b.x[:, 0].long().tolist() for b in batches]


def test_batches_cover_the_split_once_per_epoch():
    loader = Loader(split(), 10, shuffle=True, seed=0)
    batches = list(loader)
    assert len(loader) == 11 == len(batches)
    assert isinstance(batches[0], Batch) and batches[0].lengths is None
    assert sorted(sum(ids(batches), [])) == list(range(103))
    assert [len(b.x) for b in batches][-1] == 3
    assert torch.equal(batches[0].y, batches[0].x[:, 0].long() % 4)


def test_drop_last_and_no_shuffle():
    loader = Loader(split(), 10, shuffle=False, seed=0, drop_last=True)
    assert len(loader) == 10
    assert ids(loader)[0] == list(range(10))


def test_same_seed_same_order_new_epoch_new_order():
    a, b = Loader(split(), 10, shuffle=True, seed=1), Loader(split(), 10, shuffle=True, seed=1)
    assert ids(a) == ids(b)
    first = ids(a)
    a.set_epoch(1)
    assert ids(a) != first
    assert ids(Loader(split(), 10, shuffle=True, seed=2)) != first


def test_resume_mid_epoch_equals_uninterrupted():
    full = Loader(split(), 10, shuffle=True, seed=4)
    full.set_epoch(3)
    expected = ids(full)
    resumed = Loader(split(), 10, shuffle=True, seed=4)
    resumed.load_state_dict({"epoch": 3, "step": 4})
    assert ids(resumed) == expected[4:]
    assert resumed.state_dict() == {"epoch": 3, "step": 11}
    assert ids(resumed) == expected  # skip applies to one iteration only


def test_state_dict_tracks_the_step():
    loader = Loader(split(), 10, shuffle=True, seed=0)
    it = iter(loader)
    next(it), next(it)
    assert loader.state_dict() == {"epoch": 0, "step": 2}


@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_shards_union_is_the_global_batch(world_size):
    one = ids(Loader(split(), 12, shuffle=True, seed=7))
    shards = [ids(Loader(split(), 12, shuffle=True, seed=7, rank=r, world_size=world_size))
              for r in range(world_size)]
    assert all(len(s) == len(one) for s in shards)
    for step, batch in enumerate(one):
        parts = [s[step] for s in shards]
        assert sorted(sum(parts, [])) == sorted(batch)
        assert all(set(p).isdisjoint(q) for i, p in enumerate(parts) for q in parts[i + 1:])


def test_tiny_final_global_batch_is_dropped_for_many_ranks():
    shards = [Loader(split(21), 10, shuffle=True, seed=0, rank=r, world_size=2)
              for r in range(2)]
    assert len(shards[0]) == 2 and all(len(b.x) > 0 for s in shards for b in s)


def test_batch_smaller_than_world_size_is_a_user_error():
    with pytest.raises(UserError, match="batch_size"):
        Loader(split(), 2, shuffle=True, seed=0, rank=0, world_size=4)


def test_lengths_travel_with_the_batch():
    loader = Loader(split(lengths=True), 8, shuffle=True, seed=0)
    for b in loader:
        assert torch.equal(b.lengths, b.x[:, 0].long() % 7 + 1)
