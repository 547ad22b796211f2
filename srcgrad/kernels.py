"""The Numba-callable kernels of derivative objects (`srcgrad.grad(f).kernel`) live here under
deterministic names, so that generated code elsewhere (a custom rule whose derivative calls
one) can import them by module and name like any other function."""
