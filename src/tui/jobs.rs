//! Background jobs and the requests they answer.
//!
//! Every job the wizard starts (a test mail, a handle check, a proxy validation…) gets a
//! fresh `Ticket`; the screen that waits keeps it in a `Pending`, the effect carries it to
//! the job, and the job's result comes back with it. `update` folds a result in only when
//! its ticket is the one still pending: a result that arrives after the operator changed
//! the question (edited the plan, the handle, the mail settings) answers a question nobody
//! asks any more, and is dropped. (gitui's AsyncSingleJob does the same.)

use std::time::Instant;

/// Which request a background result answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ticket(u64);

/// A job a screen waits for: the ticket of the request, and when it started (for the
/// spinner's elapsed time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub ticket: Ticket,
    pub since: Instant,
}

impl Pending {
    /// Whether a result carrying `ticket` answers this request.
    pub fn is_for(&self, ticket: Ticket) -> bool {
        self.ticket == ticket
    }
}

/// Hands out tickets, never the same one twice.
#[derive(Debug, Default)]
pub struct Tickets(u64);

impl Tickets {
    pub fn start(&mut self) -> Pending {
        self.0 += 1;
        Pending {
            ticket: Ticket(self.0),
            since: Instant::now(),
        }
    }
}

/// Whether `pending` is waiting for exactly the result carrying `ticket`.
pub fn is_current(pending: &Option<Pending>, ticket: Ticket) -> bool {
    pending.is_some_and(|p| p.is_for(ticket))
}

/// How a step's job is carried out, said by the step and done by the runner: at once
/// (quick, local), on the runtime (network), on a blocking thread (a program, a database),
/// or on the runtime with a way to send results before the last one (the doctor's checks).
pub enum Task<D> {
    Now(D),
    Async(futures::future::BoxFuture<'static, D>),
    Blocking(Box<dyn FnOnce() -> D + Send>),
    Stream(Box<dyn FnOnce(Sink<D>) -> futures::future::BoxFuture<'static, D> + Send>),
}

/// Where a streaming task sends each result before its last.
pub type Sink<D> = Box<dyn Fn(D) + Send + Sync>;

impl<D> Task<D> {
    pub fn future(f: impl std::future::Future<Output = D> + Send + 'static) -> Task<D> {
        Task::Async(Box::pin(f))
    }

    pub fn blocking(f: impl FnOnce() -> D + Send + 'static) -> Task<D> {
        Task::Blocking(Box::new(f))
    }
}
