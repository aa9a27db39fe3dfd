//! How the node's process allocates memory.
//!
//! On glibc, two `malloc` defaults cost a long-running node a lot of resident memory:
//!
//! * every thread that allocates while another does gets an arena of its own, up to eight per
//!   core, and freed memory stays in the arena that freed it — the node has many such threads
//!   (tokio workers, blocking tasks, RocksDB's flushes and compactions);
//! * the threshold above which an allocation gets pages of its own (`mmap`, returned to the
//!   system when freed) rises with every large block freed, so RocksDB's memtable and block
//!   buffers end up in the arenas too, where their memory is kept.
//!
//! The node therefore caps the arenas at two and fixes the threshold at 256 KiB, unless the
//! operator set either through glibc's environment variables, and every two seconds gives the
//! free pages inside the heap back to the system (`malloc_trim`). Measured with
//! `greenledger-bench --only catch-up` (a node catching up a million entries, docs/BENCHMARKS.md):
//! peak RSS 307 MiB with glibc's defaults, 223–234 MiB with the two settings, 212 MiB with the
//! trimming too, at the same speed.

/// Arenas for the whole process (glibc's default is eight per core).
const ARENA_MAX: i32 = 2;
/// Allocations from this size on get pages of their own, returned when freed.
const MMAP_THRESHOLD: i32 = 256 << 10;

/// Applies the settings above; does nothing where the C library is not glibc, or for a
/// setting the environment already gives (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`,
/// `GLIBC_TUNABLES`). Call it first thing in `main`.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        let set = |name: &str, tunable: &str| std::env::var_os(name).is_some() || tunables.contains(tunable);
        if !set("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") {
            mallopt(libc::M_ARENA_MAX, ARENA_MAX);
        }
        if !set("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold") {
            mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}

/// How often [`trim_periodically`] returns free heap pages to the system.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts (once per process) a thread that returns the heap's free pages to the system every
/// [`TRIM_EVERY`]. Each pass walks glibc's free lists, a millisecond or so for a node's heap.
/// Does nothing where the C library is not glibc.
pub fn trim_periodically() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static STARTED: std::sync::Once = std::sync::Once::new();
        STARTED.call_once(|| {
            let spawned = std::thread::Builder::new().name("malloc-trim".into()).spawn(|| {
                loop {
                    std::thread::sleep(TRIM_EVERY);
                    malloc_trim();
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no malloc-trim thread: freed heap memory is returned to the system less promptly");
            }
        });
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn malloc_trim() {
    // SAFETY: malloc_trim takes an integer (the padding to keep at the heap's top), touches no
    // memory of ours and is thread-safe (it takes each arena's lock in turn).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn mallopt(param: i32, value: i32) {
    // SAFETY: mallopt takes two integers, touches no memory of ours and is thread-safe (it
    // takes glibc's arena locks). A refused setting returns 0 and leaves glibc's default,
    // which is only less economical: nothing to report (logging is not set up yet).
    let _ = unsafe { libc::mallopt(param, value) };
}
