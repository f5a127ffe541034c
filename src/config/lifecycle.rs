//! How a container's first process relates to the caller: through cocoon's monitor (the
//! default) or as the caller's own child, for callers that hand it to a subreaper.

use super::builder::ContainerBuilder;

impl ContainerBuilder {
    /// Makes the container's first process the caller's own child, with no monitor between
    /// them (the monitor clones it with `CLONE_PARENT` and exits right away).
    ///
    /// This is what OCI runtimes' callers expect (conmon, containerd's shim): they are
    /// child subreapers, run `create`, and reap the container's first process themselves
    /// once the runtime has exited and the kernel has reparented it to them. The price:
    /// the container no longer dies with the caller (nothing watches the caller), and the
    /// process is a child the caller's own `waitpid(-1)` loops can reap. It has no exit
    /// signal until it is reparented (then `SIGCHLD`), so such loops need `__WALL` to see
    /// it while the caller lives. Off by default.
    pub fn direct_child(mut self, yes: bool) -> Self {
        self.set_direct_child(yes);
        self
    }

    /// Whether the first process is the caller's own child (as
    /// [`ContainerBuilder::direct_child`]).
    pub fn set_direct_child(&mut self, yes: bool) -> &mut Self {
        self.direct_child = yes;
        self
    }
}
