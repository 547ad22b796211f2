"""Code generation: turn the reverse pass's AST into a module's source text (emit.py) and load
it as a compiled, cached Numba module (compile.py)."""
