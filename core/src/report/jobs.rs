//! Training a protocol's (run, seed) pairs several at a time (`praxis report --jobs N`).
//!
//! On a CPU with few cores, one training does not keep every core busy: Burn's CPU matmuls
//! on the model's small shapes scale ~1.15× from one thread to two, while two trainings on
//! one thread each run side by side at nearly full speed. So the pairs are handed to `jobs`
//! workers, each with a rayon pool of its share of the threads; a pair that starts from
//! another's checkpoint (`init_from`) waits until that one has finished. The CPU kernels
//! split work over output blocks, not over the sums inside them, so a pair's numbers do not
//! depend on how many threads it had or on what ran beside it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

use crate::error::{Error, Result};

/// Training pair `i` as job `job` (its worker), given the result of the pair it starts from:
/// the pair's result, or `None` when it was interrupted.
pub(super) type PairWork<'a, T> = dyn Fn(usize, usize, Option<&T>) -> Result<Option<T>> + Sync + 'a;

/// Where a pair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
}

struct Board<T> {
    states: Vec<State>,
    results: Vec<Option<T>>,
    error: Option<Error>,
    interrupted: bool,
}

/// What a worker should do next.
enum Next {
    /// Train pair `i`.
    Start(usize),
    /// Nothing is ready yet: a pair it depends on is still training.
    Wait,
    /// Nothing left for it.
    Quit,
}

impl<T> Board<T> {
    fn next(&mut self, deps: &[Option<usize>]) -> Result<Next> {
        if self.error.is_some() || self.interrupted {
            return Ok(Next::Quit);
        }
        let ready = (0..self.states.len()).find(|&i| {
            self.states[i] == State::Pending
                && deps[i].is_none_or(|d| self.states[d] == State::Done)
        });
        if let Some(i) = ready {
            self.states[i] = State::Running;
            return Ok(Next::Start(i));
        }
        let running = self.states.contains(&State::Running);
        match self.states.iter().position(|s| *s == State::Pending) {
            Some(_) if running => Ok(Next::Wait),
            Some(i) => Err(Error::invalid(format!(
                "pair {i} of the protocol waits for a pair that cannot train"
            ))),
            None => Ok(Next::Quit),
        }
    }
}

/// Runs `work(job, i, dependency's result)` for every pair `i` whose `results[i]` is `None`
/// (the others finished earlier), on `jobs` workers, a pair only after the pair `deps[i]` it
/// starts from. Returns every result in order, or `None` when a pair was interrupted (`work`
/// returned `None`): the others then stop at their next boundary too. The first error stops
/// the others the same way (through `stop`, so what they trained is kept to resume) and is
/// returned.
pub(super) fn run_pairs<T: Send + Sync + Clone>(
    results: Vec<Option<T>>,
    deps: &[Option<usize>],
    jobs: usize,
    stop: &AtomicBool,
    work: &PairWork<'_, T>,
) -> Result<Option<Vec<T>>> {
    let states = results
        .iter()
        .map(|r| match r {
            Some(_) => State::Done,
            None => State::Pending,
        })
        .collect();
    let board = Mutex::new(Board {
        states,
        results,
        error: None,
        interrupted: false,
    });
    let changed = Condvar::new();
    let jobs = jobs.max(1);
    let threads = (rayon::current_num_threads() / jobs).max(1);
    std::thread::scope(|scope| {
        for job in 0..jobs {
            let (board, changed) = (&board, &changed);
            scope.spawn(move || {
                let pool = match rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(move |t| format!("praxis-report-{job}-{t}"))
                    .build()
                {
                    Ok(pool) => pool,
                    Err(e) => {
                        let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
                        b.error.get_or_insert(Error::invalid(format!(
                            "cannot start report job {job}'s threads: {e}"
                        )));
                        changed.notify_all();
                        return;
                    }
                };
                worker(job, &pool, board, changed, deps, stop, work);
            });
        }
    });
    let board = board.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = board.error {
        return Err(e);
    }
    if board.interrupted {
        return Ok(None);
    }
    Ok(Some(board.results.into_iter().flatten().collect()))
}

fn worker<T: Send + Sync + Clone>(
    job: usize,
    pool: &rayon::ThreadPool,
    board: &Mutex<Board<T>>,
    changed: &Condvar,
    deps: &[Option<usize>],
    stop: &AtomicBool,
    work: &PairWork<'_, T>,
) {
    loop {
        let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
        let i = loop {
            match b.next(deps) {
                Ok(Next::Start(i)) => break i,
                Ok(Next::Wait) => b = changed.wait(b).unwrap_or_else(|p| p.into_inner()),
                Ok(Next::Quit) => return,
                Err(e) => {
                    b.error.get_or_insert(e);
                    changed.notify_all();
                    return;
                }
            }
        };
        // The dependency is done, so its result no longer changes.
        let dep = deps[i].and_then(|d| b.results[d].clone());
        drop(b);
        let outcome = pool.install(|| work(job, i, dep.as_ref()));
        let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(Some(result)) => {
                b.results[i] = Some(result);
                b.states[i] = State::Done;
            }
            Ok(None) => {
                b.states[i] = State::Pending;
                b.interrupted = true;
            }
            Err(e) => {
                b.states[i] = State::Pending;
                b.error.get_or_insert(e);
                stop.store(true, Ordering::Relaxed);
            }
        }
        changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    /// Waits (up to 10 s) until `n` callers are inside at once; whether they met.
    struct Rendezvous {
        inside: Mutex<usize>,
        arrived: Condvar,
    }

    impl Rendezvous {
        fn meet(&self, n: usize) -> bool {
            let mut inside = self.inside.lock().unwrap();
            *inside += 1;
            self.arrived.notify_all();
            let (inside, timeout) = self
                .arrived
                .wait_timeout_while(inside, Duration::from_secs(10), |i| *i < n)
                .unwrap();
            drop(inside);
            !timeout.timed_out()
        }
    }

    #[test]
    fn independent_pairs_run_side_by_side_and_dependents_get_their_source() {
        let meet = Rendezvous {
            inside: Mutex::new(0),
            arrived: Condvar::new(),
        };
        let met = AtomicUsize::new(0);
        // pairs 0 and 1 are independent; 2 starts from 0; 3 finished before
        let deps = [None, None, Some(0), None];
        let results = vec![None, None, None, Some(30)];
        let work = |_job: usize, i: usize, source: Option<&u32>| -> Result<Option<u32>> {
            match i {
                0 | 1 => {
                    if meet.meet(2) {
                        met.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(Some(10 * i as u32))
                }
                2 => Ok(Some(source.copied().expect("pair 0's result") + 20)),
                _ => panic!("pair {i} had finished and must not train again"),
            }
        };
        let stop = AtomicBool::new(false);
        let out = run_pairs(results, &deps, 2, &stop, &work).unwrap().unwrap();
        assert_eq!(out, vec![0, 10, 20, 30]);
        assert_eq!(
            met.load(Ordering::SeqCst),
            2,
            "two jobs ran one pair each at once"
        );
    }

    #[test]
    fn one_job_runs_pairs_in_protocol_order() {
        let order = Mutex::new(Vec::new());
        let work = |_job: usize, i: usize, _: Option<&usize>| -> Result<Option<usize>> {
            order.lock().unwrap().push(i);
            Ok(Some(i))
        };
        let stop = AtomicBool::new(false);
        let out = run_pairs(
            vec![None; 4],
            &[None, Some(0), None, Some(2)],
            1,
            &stop,
            &work,
        )
        .unwrap()
        .unwrap();
        assert_eq!(out, vec![0, 1, 2, 3]);
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn an_error_stops_the_other_jobs_and_an_interruption_returns_none() {
        let stop = AtomicBool::new(false);
        // pair 1 fails; pair 0 trains until told to stop, as a real training would
        let work = |_job: usize, i: usize, _: Option<&u8>| -> Result<Option<u8>> {
            if i == 1 {
                return Err(Error::invalid("pair 1 is broken"));
            }
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(None)
        };
        let err = run_pairs(vec![None; 3], &[None, None, Some(1)], 2, &stop, &work).unwrap_err();
        assert!(err.to_string().contains("pair 1 is broken"), "{err}");
        assert!(
            stop.load(Ordering::Relaxed),
            "the error asked the other job to stop"
        );

        let stop = AtomicBool::new(false);
        let interrupted = |_: usize, i: usize, _: Option<&u8>| -> Result<Option<u8>> {
            Ok((i == 0).then_some(1))
        };
        let out = run_pairs(vec![None; 3], &[None, None, None], 1, &stop, &interrupted).unwrap();
        assert!(
            out.is_none(),
            "a stopped pair makes the report resumable, not finished"
        );
    }
}
