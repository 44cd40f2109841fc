use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kata_abi::{GUEST_DIR, Outcome, Request, Response, decode_response, encode_request_frame};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder, Trap,
};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::{GUEST_WASM, GuestError};

/// The caps every call of the guest runs under.
#[derive(Debug, Clone)]
pub struct GuestConfig {
    /// Linear memory of one instance. The guest streams tars through a small
    /// buffer; its memory grows with the request's files, not the sandbox.
    pub memory_bytes: usize,
    /// Wall-clock time one call may take before it is interrupted.
    pub time_limit: Duration,
    /// Bytes one call may write to stdout (the tar it produces).
    pub max_output_bytes: usize,
    /// Instances that may run at once; more calls at once fail to start.
    pub max_instances: u32,
}

impl Default for GuestConfig {
    fn default() -> Self {
        Self {
            memory_bytes: 512 << 20,
            time_limit: Duration::from_secs(60),
            max_output_bytes: 512 << 20,
            max_instances: 64,
        }
    }
}

/// How often the epoch advances: the granularity of [`GuestConfig::time_limit`].
const TICK: Duration = Duration::from_millis(10);

/// The guest, compiled once per process, ready to run one instance per call.
///
/// Cheap to share: clone it into each task (the engine and module are
/// reference-counted).
#[derive(Clone)]
pub struct Guest {
    engine: Engine,
    pre: InstancePre<Ctx>,
    config: GuestConfig,
    _ticker: Arc<Ticker>,
}

struct Ctx {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
}

/// Advances the engine's epoch every [`TICK`] until dropped.
struct Ticker(Arc<AtomicBool>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Guest {
    /// Compiles the built-in guest ([`GUEST_WASM`]).
    pub fn new(config: GuestConfig) -> Result<Self, GuestError> {
        Self::with_module(config, GUEST_WASM)
    }

    /// Compiles another guest module speaking the same protocol.
    pub fn with_module(config: GuestConfig, wasm: &[u8]) -> Result<Self, GuestError> {
        let setup = |e: wasmtime::Error| GuestError::Setup(format!("{e:#}"));
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(config.max_instances)
            .total_memories(config.max_instances)
            .total_tables(config.max_instances)
            .max_memory_size(config.memory_bytes);
        let mut wasm_config = Config::new();
        wasm_config
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm_config).map_err(setup)?;
        let module = Module::new(&engine, wasm).map_err(setup)?;
        let mut linker: Linker<Ctx> = Linker::new(&engine);
        p1::add_to_linker_sync(&mut linker, |ctx| &mut ctx.wasi).map_err(setup)?;
        let pre = linker.instantiate_pre(&module).map_err(setup)?;

        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("kata-wasi-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|e| GuestError::Setup(format!("starting the epoch thread: {e}")))?;
        Ok(Self {
            engine,
            pre,
            config,
            _ticker: Arc::new(Ticker(stop)),
        })
    }

    /// The caps this guest runs under.
    pub fn config(&self) -> &GuestConfig {
        &self.config
    }

    /// Runs one instance: `dir` (if any) preopened read-write at
    /// [`GUEST_DIR`], `request` and `payload` on stdin. Returns the payload
    /// the guest wrote and its outcome.
    pub(crate) fn call(
        &self,
        dir: Option<&Path>,
        request: &Request,
        payload: &[u8],
    ) -> Result<(Vec<u8>, Outcome), GuestError> {
        let mut stdin = encode_request_frame(request);
        stdin.extend_from_slice(payload);
        let stdout = MemoryOutputPipe::new(self.config.max_output_bytes);
        let stderr = MemoryOutputPipe::new(64 * 1024);

        let mut wasi = WasiCtxBuilder::new();
        // Before `preopened_dir`: it is captured there. File operations then
        // run on this (already blocking) thread instead of hopping threads.
        wasi.allow_blocking_current_thread(true)
            .stdin(MemoryInputPipe::new(stdin))
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        if let Some(dir) = dir {
            wasi.preopened_dir(dir, GUEST_DIR, FsPerms::ReadWrite)
                .map_err(|e| GuestError::Preopen {
                    path: dir.to_owned(),
                    message: format!("{e:#}"),
                })?;
        }
        let ctx = Ctx {
            wasi: wasi.build_p1(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.config.memory_bytes)
                .instances(1)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(&self.engine, ctx);
        store.limiter(|ctx| &mut ctx.limits);
        let ticks = self
            .config
            .time_limit
            .as_millis()
            .div_ceil(TICK.as_millis());
        store.set_epoch_deadline(ticks.max(1) as u64);
        store.epoch_deadline_trap();

        let run = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| instance.get_typed_func::<(), ()>(&mut store, "_start"))
            .and_then(|start| start.call(&mut store, ()));
        drop(store);
        if let Err(e) = run {
            return Err(self.classify(e, &stdout, &stderr));
        }
        let out = stdout.contents();
        // A full pipe takes partial writes up to its capacity, then none: a
        // guest that overflowed it ends exactly there, without a trailer.
        if out.len() >= self.config.max_output_bytes {
            return Err(GuestError::OutputTooLarge {
                cap_bytes: self.config.max_output_bytes,
            });
        }
        let (tar, response) = decode_response(&out)?;
        match response {
            Response::Ok(outcome) => Ok((tar.to_vec(), outcome)),
            Response::Failed(failure) => Err(failure.into()),
        }
    }

    fn classify(
        &self,
        e: wasmtime::Error,
        stdout: &MemoryOutputPipe,
        stderr: &MemoryOutputPipe,
    ) -> GuestError {
        let message = format!("{e:#}");
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => {
                return GuestError::OutOfTime {
                    cap_ms: self.config.time_limit.as_millis(),
                };
            }
            Some(Trap::OutOfFuel) => {
                return GuestError::OutOfTime {
                    cap_ms: self.config.time_limit.as_millis(),
                };
            }
            _ => {}
        }
        // `StoreLimits` says so only in words (wasmtime 48 has no type for it).
        if message.contains("forcing trap when growing memory") {
            return GuestError::OutOfMemory {
                cap_bytes: self.config.memory_bytes,
            };
        }
        if stdout.contents().len() >= self.config.max_output_bytes {
            return GuestError::OutputTooLarge {
                cap_bytes: self.config.max_output_bytes,
            };
        }
        GuestError::Trap {
            message,
            stderr: String::from_utf8_lossy(&stderr.contents()).into_owned(),
        }
    }
}
