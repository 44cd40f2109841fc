//! The C kata the runners are measured with; shared by the tests and the
//! rebuild benchmark (`benches/rebuild.rs` includes this file).

use kata_strategy::RunReport;
use kata_types::{Files, SandboxPath};

fn path(s: &str) -> SandboxPath {
    SandboxPath::new(s).unwrap()
}

/// A C kata of 20 files: 17 `.c` files, a header, a makefile and
/// `cyber-dojo.sh`. make echoes one `gcc -c` line per file it compiles.
pub fn c_kata() -> Files {
    let mut files = Files::new();
    files.insert(
        path("cyber-dojo.sh"),
        "make --no-print-directory test\n".into(),
    );
    files.insert(
        path("makefile"),
        "SRCS := $(sort $(wildcard *.c))\n\
         OBJS := $(SRCS:.c=.o)\n\
         test: run_tests\n\t./run_tests\n\
         run_tests: $(OBJS)\n\tgcc $(OBJS) -o run_tests\n\
         %.o: %.c hiker.h\n\tgcc -c $< -o $@\n"
            .into(),
    );
    let mut header = String::new();
    let mut main = String::from(
        "#include <assert.h>\n#include <stdio.h>\n#include \"hiker.h\"\nint main(void) {\n",
    );
    for i in 1..=16 {
        header.push_str(&format!("int f{i:02}(void);\n"));
        files.insert(
            path(&format!("f{i:02}.c")),
            format!("int f{i:02}(void) {{ return {i}; }}\n"),
        );
        main.push_str(&format!("    assert(f{i:02}() == {i});\n"));
    }
    main.push_str("    puts(\"All tests passed\");\n    return 0;\n}\n");
    files.insert(path("hiker.h"), header);
    files.insert(path("main.c"), main);
    assert_eq!(files.len(), 20);
    files
}

/// The files make compiled, from its echo.
pub fn compiled(report: &RunReport) -> Vec<String> {
    report
        .event
        .stdout
        .content
        .lines()
        .filter_map(|l| l.strip_prefix("gcc -c "))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}
