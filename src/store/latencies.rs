//! `LatencySketches`: the per-minute latency sketches behind `@bot stats`, as opaque bytes by
//! kind name and minute (the store knows nothing of their format).

/// One stored sketch: a latency kind's values in one minute (since the Unix epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSketch {
    pub kind: String,
    pub minute: i64,
    pub sketch: Vec<u8>,
}

/// Where closed minutes' sketches are kept, for at most a day (and a margin).
pub trait LatencySketches: Send + Sync + 'static {
    /// Keep `sketches` (one transaction). A (kind, minute) may be saved more than once (a
    /// restart within a minute); readers merge every row.
    fn save_sketches(&self, sketches: &[StoredSketch]) -> anyhow::Result<()>;
    /// Every sketch of a minute at or after `since`.
    fn sketches_since(&self, since: i64) -> anyhow::Result<Vec<StoredSketch>>;
    /// Forget at most `batch` sketches of minutes before `before`; how many went.
    fn forget_sketches_before(&self, before: i64, batch: usize) -> anyhow::Result<usize>;
}
