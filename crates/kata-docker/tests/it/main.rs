//! Integration tests of the executor against the real Docker engine.
//!
//! They fail, never skip, when the engine or the test images are missing:
//! build the images with `images/build`. After all tests, the harness checks
//! that no container labelled with the suite's executor instances is left on
//! the engine.

mod basics;
mod bind;
mod bombs;
mod cleanup;
mod engine_facts;
mod floods;
mod images;
mod inside;
mod support;
mod timeouts;

use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

macro_rules! trials {
    ($($test:path),* $(,)?) => {
        vec![$(
            Trial::test(stringify!($test).replace(' ', ""), || {
                support::block_on($test());
                Ok(())
            }),
        )*]
    };
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials = trials![
        basics::hello_world,
        basics::non_zero_status,
        basics::files_round_trip,
        basics::large_incoming_file_does_not_time_out,
        basics::c_assert_red_and_green,
        basics::cyber_dojo_environment,
        basics::leftover_background_processes_do_not_hold_the_run,
        bind::bind_mounted_sandbox_is_changed_in_place,
        bombs::c_fork_bomb,
        bombs::shell_fork_bomb,
        bombs::shell_fork_bomb_left_behind,
        bombs::file_handle_exhaustion,
        cleanup::dropped_future_removes_the_container,
        cleanup::future_dropped_during_create_removes_the_container,
        cleanup::panic_removes_the_container,
        cleanup::reaper_removes_orphans,
        engine_facts::put_archive_into_tmpfs_is_lost,
        engine_facts::get_archive_misses_tmpfs_and_truncates_mtimes,
        engine_facts::wait_reports_non_zero_exit_as_error,
        engine_facts::closing_attach_input_ends_container_stdin,
        floods::floods_are_capped_and_memory_stays_flat,
        images::image_without_bash,
        images::image_without_sh,
        images::missing_image_and_pulling,
        images::invalid_image_name,
        inside::user_and_group,
        inside::ulimits,
        inside::cgroup_limits,
        inside::no_network,
        inside::locked_down,
        inside::oom_kill_is_reported,
        timeouts::c_infinite_loop,
        timeouts::child_ignoring_term,
    ];
    let listing = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if !listing {
        let left = support::block_on(support::labelled_containers());
        if !left.is_empty() {
            eprintln!("FAILED: containers left behind after the suite: {left:?}");
            return ExitCode::FAILURE;
        }
        println!("no labelled container left on the engine");
    }
    conclusion.exit_code()
}
