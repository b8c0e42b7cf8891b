//! The CPU priority of background threads (Linux: both settings are per thread): the
//! argon2 hashing threads and the mail worker's thread run below page serving, so that
//! a burst of their work yields the cores to requests at once.

/// How far below normal a thread runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    /// Added to the nice value.
    pub nice: i32,
    /// SCHED_IDLE as well.
    pub sched_idle: bool,
}

/// Lower the calling thread's priority. Best effort: what fails leaves the thread at the
/// priority it had, logged at debug level with `what` naming the thread.
pub fn lower_this_thread(priority: Priority, what: &str) {
    #[cfg(target_os = "linux")]
    {
        if priority.nice != 0
            && let Err(e) = rustix::process::nice(priority.nice)
        {
            tracing::debug!(error = %e, thread = what, "cannot raise the nice value");
        }
        if priority.sched_idle
            && let Err(e) = sched_idle()
        {
            tracing::debug!(error = %e, thread = what, "cannot run under SCHED_IDLE");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (priority, what);
}

/// Put the calling thread under SCHED_IDLE. Why not a nice value alone: the scheduler
/// lets a running thread of any nice value finish its turn (a slice of a millisecond or
/// more) before a woken one runs, while it preempts a SCHED_IDLE thread at once. Lowering
/// one's own policy needs no privilege. Threads this one starts inherit the policy.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn sched_idle() -> std::io::Result<()> {
    // The kernel's `struct sched_param` is one int (the priority, 0 for SCHED_IDLE); the
    // C libraries' types differ (musl's has more fields), so it is passed as that int.
    // The raw system call: musl's sched_setscheduler() refuses with ENOSYS, because on
    // Linux the call applies to one thread rather than the process (POSIX).
    let priority: libc::c_int = 0;
    // SAFETY: the kernel reads one c_int through the pointer, which outlives the call;
    // pid 0 is the calling thread.
    let done = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            0,
            libc::SCHED_IDLE,
            &raw const priority,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The scheduling policy of the calling thread: 0 SCHED_OTHER, 5 SCHED_IDLE; None where
/// it cannot be read. For tests and diagnostics.
pub fn policy_of_this_thread() -> Option<u32> {
    policy_of_thread(std::path::Path::new("/proc/thread-self"))
}

/// The scheduling policy of the thread whose `/proc` directory is `task` (e.g.
/// `/proc/self/task/1234`): field 41 of its `stat`.
pub fn policy_of_thread(task: &std::path::Path) -> Option<u32> {
    let stat = std::fs::read_to_string(task.join("stat")).ok()?;
    // Fields from the third on follow the command name's closing parenthesis.
    let after_name = stat.rsplit_once(')')?.1;
    after_name.split_whitespace().nth(41 - 3)?.parse().ok()
}

/// SCHED_IDLE's number in [`policy_of_this_thread`].
pub const SCHED_IDLE: u32 = 5;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowers_its_own_priority_only() {
        assert_eq!(policy_of_this_thread(), Some(0), "tests run at SCHED_OTHER");
        let ours = rustix::process::getpriority_process(None).expect("nice");
        let (nice, policy, child) = std::thread::spawn(move || {
            lower_this_thread(
                Priority {
                    nice: 3,
                    sched_idle: true,
                },
                "test",
            );
            let nice = rustix::process::getpriority_process(None).expect("nice");
            // A thread it starts inherits the policy.
            let child = std::thread::spawn(policy_of_this_thread)
                .join()
                .expect("child");
            (nice, policy_of_this_thread(), child)
        })
        .join()
        .expect("thread");
        assert_eq!(nice, (ours + 3).min(19));
        assert_eq!(policy, Some(SCHED_IDLE));
        assert_eq!(child, Some(SCHED_IDLE));
        assert_eq!(policy_of_this_thread(), Some(0), "the caller is untouched");
    }
}
