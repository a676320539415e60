//! CPU-heavy steps (password hashing, signing, scans over every key) run on the blocking pool, so
//! that a request worker never spends more than a few microseconds between two awaits.

use crate::ErrorType;

use crate::ApiError;

/// Runs `f` on the blocking pool. `what` names the work in the error a caller sees if the task
/// is lost (the runtime shutting down, or a panic in `f`): "`what` was interrupted".
pub(crate) async fn blocking<T, F>(what: &'static str, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new(ErrorType::Internal, format!("{what} was interrupted")))
}
