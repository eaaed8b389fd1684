//! Group commit: writes that wait at one moment share one write transaction, so one
//! commit (one fsync) makes them all durable.
//!
//! [`GroupWriter`] is the queue in front of one writer task: the task takes whatever is
//! waiting (up to its group size), hands the group to the backend's writer function and
//! answers each caller only after that function returned — which it does after the
//! group's commit. Registrations (`register_sql`) and, on SQLite, status changes
//! (`Store::apply`, see `common.rs`) go through one each.

use crate::{StoreError, StoreResult};
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// Writes that may wait for the writer before callers wait to queue (the web layer's
/// admission control bounds the requests in flight well below this).
const QUEUE: usize = 4096;

struct Waiting<In, Out> {
    input: In,
    answer: oneshot::Sender<StoreResult<Out>>,
}

/// The queue in front of a group writer; cheap to clone.
pub(crate) struct GroupWriter<In, Out> {
    queue: mpsc::Sender<Waiting<In, Out>>,
}

impl<In, Out> Clone for GroupWriter<In, Out> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<In, Out> std::fmt::Debug for GroupWriter<In, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter").finish_non_exhaustive()
    }
}

impl<In: Send + 'static, Out: Send + 'static> GroupWriter<In, Out> {
    /// Starts the writer task; `write` writes one group of at most `max_group` and
    /// answers each of its inputs, in order. The task ends when the last handle is dropped.
    pub(crate) fn spawn<F, Fut>(max_group: usize, write: F) -> Self
    where
        F: Fn(Vec<In>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<StoreResult<Out>>> + Send + 'static,
    {
        let (queue, mut waiting) = mpsc::channel::<Waiting<In, Out>>(QUEUE);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(max_group);
            while waiting.recv_many(&mut group, max_group).await > 0 {
                let (inputs, answers): (Vec<_>, Vec<_>) =
                    group.drain(..).map(|w| (w.input, w.answer)).unzip();
                // A task of its own: should a group ever panic, its callers get an
                // error and the queue goes on.
                if let Ok(results) = tokio::spawn(write(inputs)).await {
                    for (answer, result) in answers.into_iter().zip(results) {
                        // A caller that went away still has its write made.
                        let _ = answer.send(result);
                    }
                }
            }
        });
        Self { queue }
    }

    /// Writes `input` with whatever else is waiting; returns after the commit.
    pub(crate) async fn write(&self, input: In) -> StoreResult<Out> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Waiting { input, answer })
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

/// The writer task is gone (or its group failed unexpectedly): worth trying again.
pub(crate) fn stopped() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}
