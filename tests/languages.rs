//! Every language, against real Docker with the locally built toolchain
//! image: a hello program picked by its extension (with an argument), and
//! a program that fails to compile or raises, with the compiler's or
//! runtime's message as the program's stderr and a non-zero exit.

mod common;

use common::{Sbx, stderr, stdout};

struct Case {
    lang: &'static str,
    ext: &'static str,
    /// Prints `hello, ARG1` and exits 0.
    hello: &'static str,
    /// Fails to compile, or raises at run time.
    broken: &'static str,
    /// Expected exit code of `broken`.
    code: i32,
    /// Part of the compiler's or runtime's message.
    message: &'static str,
}

fn check(case: Case) {
    let sbx = Sbx::full(case.lang);
    let file = sbx.write(&format!("hello.{}", case.ext), case.hello);
    let out = sbx.run(&["run", file.to_str().unwrap(), "--", "world"], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        case.lang,
        stderr(&out)
    );
    assert_eq!(stdout(&out), "hello, world\n", "{}", case.lang);
    assert_eq!(stderr(&out), "", "{}: nothing on stderr", case.lang);

    let out = sbx.run(&["exec", "--lang", case.lang, case.broken], "");
    assert_eq!(
        out.status.code(),
        Some(case.code),
        "{}: {}",
        case.lang,
        stderr(&out)
    );
    assert_eq!(stdout(&out), "", "{}", case.lang);
    assert!(
        stderr(&out).contains(case.message),
        "{}: expected {:?} in stderr: {}",
        case.lang,
        case.message,
        stderr(&out)
    );
}

#[test]
fn python_runs_and_reports_an_exception() {
    check(Case {
        lang: "python",
        ext: "py",
        hello: "import sys\nprint(f'hello, {sys.argv[1]}')\n",
        broken: "raise ValueError('boom')",
        code: 1,
        message: "ValueError: boom",
    });
}

#[test]
fn javascript_runs_and_reports_an_exception() {
    check(Case {
        lang: "javascript",
        ext: "js",
        hello: "console.log(`hello, ${process.argv[2]}`);\n",
        broken: "throw new Error('boom');",
        code: 1,
        message: "Error: boom",
    });
}

#[test]
fn typescript_is_compiled_then_run_and_a_syntax_error_fails_the_build() {
    check(Case {
        lang: "typescript",
        ext: "ts",
        hello: "const who: string = process.argv[2];\nconsole.log(`hello, ${who}`);\n",
        broken: "const x: number = ;\n",
        code: 1,
        message: "error TS1109: Expression expected",
    });
}

#[test]
fn go_builds_offline_and_a_compile_error_is_the_programs_stderr() {
    check(Case {
        lang: "go",
        ext: "go",
        hello: "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tfmt.Printf(\"hello, %s\\n\", os.Args[1])\n}\n",
        broken: "package main\n\nfunc main() {\n\tundefinedThing()\n}\n",
        code: 2, // the go command's own code for a failed build
        message: "undefined: undefinedThing",
    });
}

#[test]
fn go_cannot_fetch_modules_at_run_time() {
    let sbx = Sbx::full("go-offline");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "go",
            "package main\nimport \"github.com/example/nothing\"\nfunc main() { nothing.Do() }\n",
        ],
        "",
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("github.com/example/nothing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn java_runs_any_public_class_name_and_reports_a_compile_error() {
    check(Case {
        lang: "java",
        ext: "java",
        hello: "public class Greeter {\n  public static void main(String[] args) {\n    System.out.println(\"hello, \" + args[0]);\n  }\n}\n",
        broken: "public class Broken { public static void main(String[] a) { int x = \"s\"; } }\n",
        code: 1,
        message: "incompatible types",
    });
}

#[test]
fn cpp_compiles_and_reports_a_compile_error() {
    check(Case {
        lang: "cpp",
        ext: "cpp",
        hello: "#include <iostream>\nint main(int argc, char** argv) {\n  std::cout << \"hello, \" << argv[1] << std::endl;\n}\n",
        broken: "int main() { return nope; }\n",
        code: 1,
        message: "was not declared in this scope",
    });
}

#[test]
fn c_compiles_with_libm_and_reports_a_compile_error() {
    check(Case {
        lang: "c",
        ext: "c",
        hello: "#include <math.h>\n#include <stdio.h>\nint main(int argc, char** argv) {\n  if (sqrt(16.0) != 4.0) return 1;\n  printf(\"hello, %s\\n\", argv[1]);\n  return 0;\n}\n",
        broken: "int main() { return nope; }\n",
        code: 1,
        message: "undeclared (first use in this function)",
    });
}

#[test]
fn ruby_runs_and_reports_an_exception() {
    check(Case {
        lang: "ruby",
        ext: "rb",
        hello: "puts \"hello, #{ARGV[0]}\"\n",
        broken: "raise 'boom'",
        code: 1,
        message: "boom (RuntimeError)",
    });
}

#[test]
fn r_runs_and_reports_an_error() {
    check(Case {
        lang: "r",
        ext: "R",
        hello: "args <- commandArgs(trailingOnly = TRUE)\ncat(\"hello, \", args[1], \"\\n\", sep = \"\")\n",
        broken: "stop('boom')",
        code: 1,
        message: "Error: boom",
    });
}

#[test]
fn bash_runs_and_keeps_the_scripts_exit_code() {
    check(Case {
        lang: "bash",
        ext: "sh",
        hello: "echo \"hello, $1\"\n",
        broken: "echo 'boom' >&2; exit 7",
        code: 7,
        message: "boom",
    });
}

#[test]
fn a_typescript_image_without_a_compiler_gets_a_clear_error() {
    // The base image has Node 18 (no type stripping) and no tsc.
    let sbx = Sbx::new("ts-missing");
    std::fs::write(
        &sbx.config,
        format!(
            "[languages.typescript]\nimage = \"{}\"\n",
            common::test_image()
        ),
    )
    .unwrap();
    let out = sbx.run(&["exec", "--lang", "ts", "console.log(1)"], "");
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("neither the TypeScript compiler"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sbx_languages_lists_every_language_with_its_image_and_presence() {
    common::local_engine_only("which images the local engine holds");
    let sbx = Sbx::full("languages");
    let out = sbx.run(&["languages", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 10);
    for r in rows {
        assert_eq!(r["image"], common::full_image().as_str(), "{r}");
        assert_eq!(r["present"], true, "{r}");
    }
    let go = rows.iter().find(|r| r["name"] == "go").unwrap();
    assert_eq!(go["extensions"], serde_json::json!(["go"]));
    assert_eq!(go["compiled"], true);

    // Unconfigured languages fall back to the official images, which this
    // machine does not have.
    std::fs::write(&sbx.config, "").unwrap();
    let out = sbx.run(&["languages"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("golang:1.23-bookworm"), "{table}");
    assert!(table.contains("no (pulled on first use)"), "{table}");
    assert!(
        sbx.agent_pids().is_empty(),
        "listing languages starts no agent"
    );
}

#[test]
fn sbx_languages_without_an_engine_still_lists_them_and_says_why_presence_is_unknown() {
    common::engine_only("the error for an unreachable engine socket (DOCKER_HOST)");
    let sbx = Sbx::new("languages-noengine");
    let out = sbx
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("CONTAINER_HOST", "unix:///nonexistent/docker.sock")
        .args(["languages", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 10);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["present"].is_null())
    );
    assert!(
        stderr(&out).contains("cannot ask the container engine"),
        "{}",
        stderr(&out)
    );
}
