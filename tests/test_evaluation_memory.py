"""Full ranking over a catalogue of one million items, in bounded memory."""

import json
import subprocess
import sys

SCRIPT = """
import json, resource
import numpy as np, torch
from gru4rec_study.data import encode_sessions
from gru4rec_study.data.sessions import ItemMap
from gru4rec_study.data.synthetic import synthetic_events
from gru4rec_study.evaluation import evaluate
from gru4rec_study.models import GRU4Rec, GRU4RecConfig
from gru4rec_study.models.gru4rec.network import GRU4RecNetwork

n_items = 1_000_000
item_map = ItemMap.from_ids(np.arange(n_items).astype(str))
config = GRU4RecConfig(layers=(8,))
net = GRU4RecNetwork(config, n_items, torch.device("cpu")).initialise(0)
model = GRU4Rec.from_state(config.as_dict(), item_map, net.state_tensors())
test = encode_sessions(synthetic_events(150, n_items, seed=1), item_map, 2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
result = evaluate(model, test, batch_size=512)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"events": result.n_events, "before": before, "after": after}))
"""


def test_a_million_item_catalogue_evaluates_without_an_events_by_items_matrix():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    dense_bytes = figures["events"] * 1_000_000 * 8  # the float64 events-by-items matrix
    assert figures["events"] >= 300
    # Evaluation adds the float64 copy of the model and one batch of 67 rows of scores.
    assert figures["after"] - figures["before"] < dense_bytes / 3
