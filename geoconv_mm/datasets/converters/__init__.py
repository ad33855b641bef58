"""Prepare tools for BP4D and DISFA (CLI wrappers in
tools/dataset_converters/).
"""
