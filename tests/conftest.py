import os
import sys

# Tests run against the working tree (the compiled extension is built in place).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
