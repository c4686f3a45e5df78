"""The transfer fields, unset, leave a spec's hash as before them (older runs still resume);
set, they change it (a resume cannot switch them)."""

import hashlib
import json

from archopt.spec import Spec
from archopt.train import setup

NEW = {"model": ["init"], "data": ["classes", "per_class", "pseudo_labels"],
       "train": ["transfer", "contrastive", "episodes", "adversarial"], "": ["fewshot"]}


def test_unset_transfer_fields_keep_the_old_hash_and_set_ones_change_it():
    spec = Spec.model_validate({"data": {"name": "digits"}, "model": {"name": "mlp"}})
    d = spec.model_dump(mode="json")
    for section, keys in NEW.items():
        for k in keys:
            (d[section] if section else d).pop(k)
    flat = {k: v for k, v in setup.flatten(d).items() if k not in setup.RESUMABLE}
    before = hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()[:16]
    assert setup.spec_hash(spec) == before
    spec.data.per_class = 5
    assert setup.spec_hash(spec) != before
