//! The "host" side of a network test: a network namespace of the test's own, so no test
//! touches the machine's interfaces (shared by tests/common and tests/cli_support).

/// Runs `f` on a thread in a new network namespace (gone when the thread ends).
pub fn in_test_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare of the network namespace affects only this thread.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare(CLONE_NEWNET)");
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}
