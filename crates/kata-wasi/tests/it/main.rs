//! kata-wasi against real files and the real guest in real wasmtime.
//! One test binary with modules: one link step on two cores.

mod caps;
mod fuzz;
mod hostile;
mod props;
mod roundtrip;
mod support;
mod sync;
