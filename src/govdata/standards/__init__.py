"""National identifier standards, one small module each with the same shape:
``compute_check``, ``is_valid``, ``validate`` (raises InvalidInput), and a way to build valid codes.
"""
