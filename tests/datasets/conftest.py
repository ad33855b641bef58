import os.path as osp
import sys

sys.path.insert(0, osp.dirname(__file__))
