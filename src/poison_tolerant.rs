//! Locks that outlive a panic: a task that panicked while it held a mutex
//! leaves plain data behind (a session, the journal, a log buffer), still
//! usable, so the next holder takes it as it is instead of wedging for good.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// `mutex`, locked, whether or not a holder panicked.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
