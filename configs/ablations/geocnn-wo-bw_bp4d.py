# Table 3 "w/o BW": GeoCNN trained without the balanced weights of Eq. 6
# (uniform w_i = 1/A, p_i = 1: BCE averaged over AUs, unknown labels still
# masked).
_base_ = '../geocnn_bp4d_fold1.py'
model = dict(head=dict(loss=dict(use_balanced_weights=False)))
