"""nn-playground's engine: the deep-learning course as a vectorized NumPy library (docs/engine-api.md).

Importing it changes nothing in the process: OpenBLAS's thread setting for large nets is an
explicit call, engine.blas.short_thread_spin(), made by the CLI and the benchmarks before NumPy loads.
"""
