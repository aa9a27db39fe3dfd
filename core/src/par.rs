//! Work over long lists split across the machine's cores (scoped threads: no runtime, no
//! dependency), for the CPU-bound steps of verification: decoding entries and checking their
//! signatures.

/// Lists shorter than this are done on the calling thread (threads cost more than they save).
const PARALLEL_FROM: usize = 512;

/// The cores this process may use, asked once: `available_parallelism` reads the cgroup's
/// files on every call (an open, a read and a close each), and verification asks per batch.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `items.iter().map(f).collect()`, on every core for long lists; the order is kept.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores();
    if items.len() < PARALLEL_FROM || threads < 2 {
        return items.iter().map(&f).collect();
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| s.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                // A panic in `f` is a bug; let it surface as it would on one thread.
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}

/// `items.iter().map(f).collect()` with one thread per item (for a few large pieces of work,
/// such as one batch per core); the order is kept.
pub(crate) fn map_each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|item| s.spawn(move || f(item))).collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_and_every_item() {
        for n in [0, 1, 511, 512, 513, 5000] {
            let v: Vec<u64> = (0..n).collect();
            assert_eq!(super::map(&v, |x| x * 2), v.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
    }
}
