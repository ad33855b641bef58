# GeoCNN = G(11111) on DISFA (8 AUs), fold 1 (trains on parts 1+2, tests on
# part 3).
_base_ = [
    './_base_/models/geocnn.py',
    './_base_/datasets/disfa.py',
    './_base_/schedules/au_sgd_cosine_14e.py',
    './_base_/default_runtime.py',
]
model = dict(head=dict(num_aus=8))
