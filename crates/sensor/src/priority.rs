//! The analysis thread's scheduling priority.
//!
//! A sensor that only replays captures runs its analysis thread at a lower
//! priority (`[capture] replay_nice`, default niceness 10), so that the API
//! and the store writer get the CPU first and replays take the rest. But an
//! API call that changes something (a PATCH of an alert, a settings write)
//! runs as a job *on* that thread: at niceness 10 the job could wait tens of
//! milliseconds for the thread to be scheduled while the API threads keep
//! both cores busy. So the caller lends its priority: after queuing a job
//! it raises the thread back to niceness 0 ([`Priority::boost`]), and the
//! thread lowers itself again once its job queue is empty
//! ([`Priority::restore`], which is followed by one more look at the queue,
//! so that a job queued in between is not left at the low priority).
//!
//! Raising a priority needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that allows
//! niceness 0 (the systemd unit sets `LimitNICE=+0`); without either, the
//! first refused boost is reported once and jobs simply run at the lowered
//! priority.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use rustix::process::{Pid, setpriority_process};

#[derive(Debug, Default)]
pub struct Priority {
    /// The analysis thread's id (0 until [`Priority::lower`]).
    tid: AtomicI32,
    /// Its lowered niceness (0: not lowered, nothing to lend).
    nice: AtomicI32,
    boosted: AtomicBool,
    /// A boost was refused (no permission): no more attempts.
    refused: AtomicBool,
}

impl Priority {
    /// On the analysis thread: lowers it to niceness `nice` (1-19).
    pub fn lower(&self, nice: i32) {
        if nice <= 0 {
            return;
        }
        let tid = rustix::thread::gettid();
        match setpriority_process(Some(tid), nice) {
            Ok(()) => {
                self.tid
                    .store(tid.as_raw_nonzero().get(), Ordering::Release);
                self.nice.store(nice, Ordering::Release);
            }
            Err(e) => eprintln!(
                "otwatch sensor: cannot lower the analysis thread's priority to nice {nice}: {e}"
            ),
        }
    }

    /// From a thread that queued a job: the analysis thread back to
    /// niceness 0 until its queue is empty.
    pub fn boost(&self) {
        if self.nice.load(Ordering::Acquire) == 0
            || self.refused.load(Ordering::Relaxed)
            || self.boosted.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Some(tid) = Pid::from_raw(self.tid.load(Ordering::Acquire)) else {
            return;
        };
        if let Err(e) = setpriority_process(Some(tid), 0) {
            self.boosted.store(false, Ordering::Release);
            if !self.refused.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "otwatch sensor: API jobs run at the replay's lower priority \
                     (raising it back is not permitted: {e}); allow it with \
                     LimitNICE=+0 in the systemd unit, or set [capture] replay_nice = 0"
                );
            }
        }
    }

    /// On the analysis thread, its job queue empty: back to the lowered
    /// niceness. True when it was boosted (the caller then looks at the
    /// queue once more).
    pub fn restore(&self) -> bool {
        if !self.boosted.swap(false, Ordering::AcqRel) {
            return false;
        }
        let nice = self.nice.load(Ordering::Acquire);
        // Raising a niceness is always permitted.
        let _ = setpriority_process(Some(rustix::thread::gettid()), nice);
        true
    }

    /// The niceness the analysis thread runs at between jobs.
    pub fn nice(&self) -> i32 {
        self.nice.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_nice() -> i32 {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
    }

    #[test]
    fn lower_boost_restore_on_this_thread() {
        std::thread::spawn(|| {
            let p = Priority::default();
            assert!(!p.restore(), "nothing to restore before a boost");
            p.boost(); // not lowered: nothing to lend
            assert_eq!(own_nice(), 0);
            p.lower(7);
            assert_eq!((own_nice(), p.nice()), (7, 7));
            p.boost();
            // Raising needs CAP_SYS_NICE or RLIMIT_NICE; without, the boost
            // is refused (once) and the thread stays lowered.
            let raised = own_nice() == 0;
            assert!(raised || p.refused.load(Ordering::Relaxed));
            assert_eq!(p.restore(), raised);
            assert_eq!(own_nice(), 7);
        })
        .join()
        .unwrap();
    }
}
