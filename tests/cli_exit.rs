//! cocoon-run's exit status (the program's own; 128 + signal; 125 for a setup failure,
//! printed once, nothing left behind) and what the clap definition generates: --help,
//! --version, shell completions, the man page.
#![cfg(feature = "cli")]

mod cli_support;

use cli_support::{assert_nothing_left, run, unique};

#[test]
fn the_programs_exit_code_is_the_tools() {
    assert_eq!(run(&["sh", "-c", "exit 3"]).code, 3);
    assert_eq!(run(&["--", "sh", "-c", "exit 0"]).code, 0);
    assert_eq!(run(&["run", "sh", "-c", "exit 42"]).code, 42);
}

#[test]
fn killed_by_sigkill_is_137() {
    // Without a PID namespace the shell is no PID 1, which ignores even SIGKILL from inside.
    assert_eq!(run(&["--share", "pid", "sh", "-c", "kill -KILL $$"]).code, 137);
    // Under cocoon's init the program's death is the init's exit status.
    assert_eq!(run(&["--init", "sh", "-c", "kill -KILL $$"]).code, 137);
    assert_eq!(run(&["--share", "pid", "sh", "-c", "kill -TERM $$"]).code, 143);
}

#[test]
fn a_setup_failure_is_125_printed_once_and_leaves_nothing() {
    for (flags, want) in [
        (&["--", "/nonexistent/program"][..], "container setup failed at exec"),
        // Above the machine's hard limit: setrlimit fails in the child.
        (&["--rlimit", "nofile=10:99999999", "--", "true"], "container setup failed at setrlimit (RLIMIT_NOFILE)"),
        (&["--workdir", "/nonexistent-dir", "--", "true"], "container setup failed at working directory"),
    ] {
        let name = unique("setup");
        let mut args = vec!["--name", name.as_str(), "--memory", "32M"];
        args.extend_from_slice(flags);
        let o = run(&args);
        assert_eq!(o.code, 125, "{args:?}: {o:?}");
        assert_eq!(o.stderr.matches(want).count(), 1, "{o:?}");
        assert_eq!(o.stderr.lines().count(), 1, "one line: {o:?}");
        assert!(o.stderr.starts_with("cocoon-run: "), "{o:?}");
        assert_nothing_left(&name);
    }
}

#[test]
fn help_version_completions_man() {
    let o = run(&["--help"]);
    assert_eq!(o.code, 0);
    for flag in ["--bind", "--ro-bind", "--tmpfs", "--user", "--cap-add", "--rlimit", "--memory-swap", "--detach", "Exit status:", "125"] {
        assert!(o.stdout.contains(flag), "--help lacks {flag}");
    }
    let o = run(&["--version"]);
    assert_eq!((o.code, o.stdout.trim()), (0, concat!("cocoon-run ", env!("CARGO_PKG_VERSION"))));
    let o = run(&["exec", "--help"]);
    assert!(o.code == 0 && o.stdout.contains("--workdir"), "{o:?}");
    for shell in ["bash", "zsh", "fish"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.code, 0, "{o:?}");
        assert!(o.stdout.contains("cocoon-run") && o.stdout.contains("memory-swap"), "{shell}: {}", &o.stdout[..200.min(o.stdout.len())]);
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.code, 2);
    let o = run(&["man"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.starts_with(".ie") || o.stdout.contains(".TH cocoon-run"), "{}", &o.stdout[..200.min(o.stdout.len())]);
    assert!(o.stdout.contains("\\-\\-bind") && o.stdout.contains("\\-\\-memory"), "the man page lacks the flags");
}
