/*
 * floor.c: the least work a container runtime can do for the peers benchmark.
 *
 *   floor ROOTFS PROGRAM [ARGS...]
 *
 * One clone3() into new mount, pid, uts, ipc and net namespaces.  The child
 * makes "/" recursively private, binds ROOTFS onto itself, mounts proc inside
 * it, pivot_root(".", "."), detaches the old root, remounts the new root
 * read-only and execs PROGRAM.  The parent waits and exits with the child's
 * status (128+N if it was killed by signal N).
 *
 * No /dev, no cgroups, no capabilities, no seccomp, no hostname: anything a
 * real runtime does on top of this is measured as its cost over the floor.
 * Every syscall is checked; a failure prints perror() and exits 127.
 *
 * Build: cc -O2 -Wall -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void __attribute__((noreturn)) die(const char *what)
{
	perror(what);
	_exit(127);
}

static void __attribute__((noreturn)) child(const char *rootfs, char **argv)
{
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("floor: make / rprivate");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("floor: bind rootfs");
	if (chdir(rootfs) < 0)
		die("floor: chdir rootfs");
	/* We are pid 1 of the new pid namespace: this proc shows only us. */
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("floor: mount proc");
	/* Stack the old root under the new one, then drop it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("floor: pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("floor: detach old root");
	if (chdir("/") < 0)
		die("floor: chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		die("floor: remount / read-only");
	execv(argv[0], argv);
	die("floor: execv");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: floor ROOTFS PROGRAM [ARGS...]\n");
		return 127;
	}

	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
	args.exit_signal = SIGCHLD;

	/* No stack given: the child continues on a copy of ours, like fork(). */
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0)
		die("floor: clone3");
	if (pid == 0)
		child(argv[1], argv + 2);

	int status;
	for (;;) {
		if (waitpid((pid_t)pid, &status, 0) >= 0)
			break;
		if (errno != EINTR)
			die("floor: waitpid");
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 127;
}
