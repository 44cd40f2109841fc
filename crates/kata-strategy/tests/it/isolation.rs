//! A run sees its own kata and nothing else.

use kata_strategy::RunnerKind;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_run_cannot_read_a_sibling_kata() {
    let world = World::new(Backend::Dir).await;
    let (a, b) = (id("S1blnA"), id("S1blnB"));
    let mut secret = c_kata();
    secret.insert(p("cyber-dojo.sh"), "true".into());
    secret.insert(p("secret.txt"), "the-sibling-secret".into());
    world.run(&a, &secret, RunnerKind::Katas).await;

    let sibling = world.katas_root().join("S1/bl/nA/sandbox/secret.txt");
    assert!(sibling.exists(), "the sibling's file is on the host");
    let mut snoop = c_kata();
    snoop.insert(
        p("cyber-dojo.sh"),
        format!(
            "cat {sibling} ../../../nA/sandbox/secret.txt ../nA/secret.txt 2>&1\n\
             grep -rs the-sibling-secret / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | grep -v cyber-dojo.sh\n\
             exit 0\n",
            sibling = sibling.display()
        ),
    );
    let report = world.run(&b, &snoop, RunnerKind::Katas).await;
    let out = format!(
        "{}{}",
        report.event.stdout.content, report.event.stderr.content
    );
    assert!(out.contains("No such file"), "the snoop ran: {out}");
    assert!(
        !out.contains("the-sibling-secret\n")
            && !out.lines().any(|l| l.ends_with(":the-sibling-secret")),
        "{out}"
    );
}
